import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

EXPECTED_KEYS = {
    "frame_ms_median",
    "frame_ms_p95",
    "stream_ms_median",
    "stream_ms_p95",
    "classify_1_ms_median",
    "classify_8_ms_median",
    "live_classify_1_ms_median",
    "peak_rss_mb",
    "faces_found_per_frame",
}


def test_bench_writes_the_figures(settings, tiny_model_dir, tmp_path):
    settings.EMOTION_MODEL_DIR = tiny_model_dir
    settings.FACE_DETECTOR = "haar"
    output = tmp_path / "bench.json"
    out, err = StringIO(), StringIO()
    call_command("bench_pipeline", "--frames", "12", "--json", str(output), stdout=out, stderr=err)
    figures = json.loads(output.read_text())
    assert set(figures) >= EXPECTED_KEYS
    assert figures["frames"] == 12
    for key in EXPECTED_KEYS - {"faces_found_per_frame"}:
        assert figures[key] > 0, key
    # Sanity, not timing: every frame of both runs shows the one face.
    assert figures["faces_found_per_frame"] == {"frame": {"1": 12}, "stream": {"1": 12}}
    assert "frame_ms_median" in out.getvalue()
    stages = figures["frame_stages_ms_median"]
    assert set(stages) == {"decode", "detect_coarse", "detect_fine", "crop", "classify"}
    assert all(value > 0 for value in stages.values())


def test_bench_model_option(tiny_model_dir, tmp_path):
    out = StringIO()
    call_command("bench_pipeline", "--frames", "10", "--model", str(tiny_model_dir), stdout=out, stderr=StringIO())
    assert "stream_ms_median" in out.getvalue()


def test_bench_refuses_too_few_frames(tiny_model_dir):
    with pytest.raises(CommandError, match="at least"):
        call_command("bench_pipeline", "--frames", "2", "--model", str(tiny_model_dir))
