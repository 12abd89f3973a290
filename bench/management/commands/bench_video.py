"""`manage.py bench_video [--case NAME ...] [--json OUT] [--dir DIR]`: make the benchmark videos (H.264, from a
real face photo) and time `analyze_video` on each, in its own process so that its peak RSS is its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.report import write_figures
from bench.video import CASES, write_case


class Command(BaseCommand):
    help = "Frames per second and peak memory of video analysis on 60 s and 10 min videos (1 and 3 faces, 720p)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--case", action="append", choices=sorted(CASES), dest="cases",
                            help="a video to measure (repeatable; default: all)")
        parser.add_argument("--dir", default=str(Path(settings.VAR_DIR) / "bench_video"),
                            help="where the videos are made (kept for the next run)")
        parser.add_argument("--every", type=int, default=1, help="analyse every Nth frame (default 1)")
        parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")

    def handle(self, *args, cases: list[str] | None, dir: str, every: int, json: str | None, **options) -> None:
        figures = {"cases": {}, "cpu_count": os.cpu_count()}
        for name in cases or list(CASES):
            case = CASES[name]
            path = Path(dir) / f"{name}.mp4"
            codec_file = path.with_suffix(".codec")
            if not path.is_file() or not codec_file.is_file():
                self.stderr.write(f"making {path} ({case.frames} frames)")
                started = time.perf_counter()
                codec = write_case(case, path)
                codec_file.write_text(codec)
                self.stderr.write(f"  made in {time.perf_counter() - started:.0f} s")
            self.stderr.write(f"analysing {name}")
            result = self._analyse(path, every)
            faces = sum(track["frames"] for track in result["tracks"])
            figures["cases"][name] = {
                "codec": codec_file.read_text(), "width": case.width, "height": case.height, "seconds": case.seconds,
                "faces_in_video": case.faces, "frames": result["frame_count"], "every": every,
                "video_frames_per_second": result["video_frames_per_second"],
                "peak_rss_mb": result["peak_rss_mb"], "analysis_seconds": result["seconds"],
                "cpu_ms_per_video_frame": round(result["cpu_seconds"] * 1000 / result["frame_count"], 3),
                "faces_found_per_analysed_frame": round(faces / max(1, result["frames_analysed"]), 3),
                "tracks": len(result["tracks"]), "file_mb": round(path.stat().st_size / 2**20, 1),
                "load_average_1min": round(os.getloadavg()[0], 2),
            }
            for key, value in figures["cases"][name].items():
                self.stdout.write(f"{name} {key}: {value}")
        write_figures(figures, json, self.stdout)

    def _analyse(self, path: Path, every: int) -> dict:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "result.json"
            command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "analyze_video", str(path),
                       "--every", str(every), "--json", str(out)]
            finished = subprocess.run(command, capture_output=True, text=True, check=False)
            if finished.returncode != 0:
                raise CommandError(f"analyze_video failed on {path}: {finished.stderr.strip()[-2000:]}")
            return json_load(out)


def json_load(path: Path) -> dict:
    return json.loads(path.read_text())

