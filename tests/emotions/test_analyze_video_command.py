import json

import pytest
from django.core.management import CommandError, call_command

from tests.emotions.video_support import face_video


def test_prints_per_face_timelines_and_throughput(recognition_model, tmp_path, capsys):
    clip = face_video(tmp_path / "clip.mp4", 45)
    out = tmp_path / "result.json"
    call_command("analyze_video", str(clip), "--every", "3", "--json", str(out))
    printed = capsys.readouterr().out
    assert "640x480, 30.00 fps, 1.5 s, 1 face track(s)" in printed
    assert "face 1: 15 frames, 0.0-1.0 s" in printed and "video frames/s" in printed
    result = json.loads(out.read_text())
    assert result["frames_analysed"] == 15 and result["every"] == 3
    (track,) = result["tracks"]
    assert [point["frames"] for point in track["timeline"]] == [10, 5]
    assert result["video_frames_per_second"] > 0 and result["peak_rss_mb"] > 0


def test_refuses_bad_files_and_options(recognition_model, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("no video here " * 20)
    with pytest.raises(CommandError, match="not a video file"):
        call_command("analyze_video", str(text))
    with pytest.raises(CommandError, match="no such file"):
        call_command("analyze_video", str(tmp_path / "missing.mp4"))
    with pytest.raises(CommandError, match="--every"):
        call_command("analyze_video", str(text), "--every", "0")
