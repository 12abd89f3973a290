"""`manage.py analyze_video FILE [--every N] [--max-seconds S] [--json OUT] [--model DIR]`: analyse a video
file with the recognition core (nothing is stored) and print per-face timelines and the throughput."""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from emotions.active_model import build_pipeline
from emotions.recognition.video import TrackTimelines, VideoError, analyse_video, peak_rss_mb, probe_video


class Command(BaseCommand):
    help = "Analyse a video file: per-face emotion timelines (one line per second) and frames per second."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="an MP4, MOV, WebM, MKV or AVI file")
        parser.add_argument("--every", type=int, default=1, help="analyse every Nth frame (default 1)")
        parser.add_argument("--max-seconds", type=float, default=None, help="analyse only this far into the video")
        parser.add_argument("--json", metavar="OUT", help="also write the timelines and figures to this JSON file")
        parser.add_argument("--model", metavar="DIR", help="model artifact directory (default: the configured one)")

    def handle(self, *args, file: str, every: int, max_seconds: float | None, json: str | None,
               model: str | None, **options) -> None:
        if every < 1:
            raise CommandError("--every must be at least 1")
        if max_seconds is not None and max_seconds <= 0:
            raise CommandError("--max-seconds must be more than 0")
        if not Path(file).is_file():
            raise CommandError(f"no such file: {file}")
        try:
            pipeline = build_pipeline(model)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        timelines = TrackTimelines()
        try:
            info = probe_video(file, max_pixels=settings.VIDEO_MAX_PIXELS)
            started, cpu_started = time.perf_counter(), time.process_time()
            for frame in analyse_video(file, pipeline, info, every=every, max_seconds=max_seconds):
                timelines.add(frame)
            elapsed, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        except VideoError as error:
            raise CommandError(f"{file}: {error}") from error
        result = timelines.to_dict()
        video_frames = result["frames_analysed"] * every
        result.update({
            "file": str(file), "width": info.width, "height": info.height, "fps": info.fps,
            "frame_count": info.frame_count, "duration_seconds": round(info.duration_seconds, 3), "every": every,
            "seconds": round(elapsed, 3), "video_frames_per_second": round(video_frames / max(elapsed, 1e-9), 1),
            "analysed_frames_per_second": round(result["frames_analysed"] / max(elapsed, 1e-9), 1),
            "cpu_seconds": round(cpu_seconds, 3), "peak_rss_mb": round(peak_rss_mb(), 1),
        })
        self._print(result)
        if json:
            Path(json).write_text(_dumps(result) + "\n")
            self.stdout.write(f"written to {json}")

    def _print(self, result: dict) -> None:
        self.stdout.write(f"{result['file']}: {result['width']}x{result['height']}, {result['fps']:.2f} fps, "
                          f"{result['duration_seconds']} s, {len(result['tracks'])} face track(s)")
        for track in result["tracks"]:
            self.stdout.write(f"face {track['track']}: {track['frames']} frames, {track['first_second']}-"
                              f"{track['last_second']} s, mostly {track['dominant']}")
            for point in track["timeline"]:
                top = sorted(point["scores"].items(), key=lambda item: -item[1])[:3]
                scores = ", ".join(f"{name} {value:.2f}" for name, value in top)
                self.stdout.write(f"  {point['second']:>8.1f} s  {point['emotion']:<8}  ({scores})")
        self.stdout.write(f"throughput: {result['video_frames_per_second']} video frames/s "
                          f"({result['frames_analysed']} frames analysed in {result['seconds']} s), "
                          f"peak RSS {result['peak_rss_mb']} MB")


def _dumps(result: dict) -> str:
    return json.dumps(result, indent=2)
