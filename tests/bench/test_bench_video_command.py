import json

from django.core.management import call_command

from bench.management.commands import bench_video
from bench.video import VideoCase


def test_measures_each_case_in_its_own_process(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench_video, "CASES", {"tiny": VideoCase("tiny", 320, 240, seconds=1, fps=15)})
    out = tmp_path / "figures.json"
    call_command("bench_video", "--dir", str(tmp_path / "videos"), "--json", str(out))
    figures = json.loads(out.read_text())["cases"]["tiny"]
    assert figures["frames"] == 15 and figures["width"] == 320
    assert figures["video_frames_per_second"] > 0 and figures["peak_rss_mb"] > 50
    assert figures["faces_found_per_analysed_frame"] == 1.0 and figures["tracks"] == 1
    assert "tiny video_frames_per_second:" in capsys.readouterr().out
    assert (tmp_path / "videos" / "tiny.mp4").is_file()  # kept for the next run
