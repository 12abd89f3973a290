"""Benchmark videos for `manage.py bench_video`: made from a real face photo, encoded as H.264.

The frames show scikit-image's astronaut (a real face, public domain) drifting over a soft
gradient, like `bench.py`'s stream. H.264 needs an encoder that OpenCV's wheel lacks: the
benchmark pipes raw frames to the FFmpeg binary of the `imageio-ffmpeg` package (a development
dependency) and falls back to OpenCV's MPEG-4 part 2 (`mp4v`) writer without it, saying so.
Frames are made and written one at a time, so a long video costs no memory to make either.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.frames import astronaut_bgr

# The astronaut's head in her 512x512 photo (x, y, width, height): a crop that holds the whole face.
HEAD_CROP = (112, 0, 230, 260)


@dataclass(frozen=True)
class VideoCase:
    """One benchmark video."""

    name: str
    width: int
    height: int
    seconds: int
    faces: int = 1
    fps: int = 30
    #: Show the head only, larger (several faces side by side; or a close-up in a large frame,
    #: where the whole photo would leave the face under the detector's minimum of ~10% of the width).
    heads: bool = False

    @property
    def frames(self) -> int:
        return self.seconds * self.fps


CASES = {
    case.name: case
    for case in (
        VideoCase("640x480-1face-60s", 640, 480, 60),
        VideoCase("1280x720-1face-60s", 1280, 720, 60, heads=True),
        VideoCase("640x480-3faces-60s", 640, 480, 60, faces=3, heads=True),
        VideoCase("640x480-1face-600s", 640, 480, 600),
    )
}


def _background(width: int, height: int) -> np.ndarray:
    row = np.linspace(90, 150, width, dtype=np.float32)
    return np.repeat(np.tile(row, (height, 1))[..., None], 3, axis=2).astype(np.uint8)


def case_frames(case: VideoCase) -> Iterator[np.ndarray]:
    """The case's frames, BGR, made one at a time: each face drifts a few pixels per frame."""
    photo = astronaut_bgr()
    if not case.heads:
        side = round(case.height * 0.875)  # as in bench.py: the face is ~1/6 of the frame's height
        sprites = [cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)] * case.faces
    else:
        x, y, w, h = HEAD_CROP
        slot = case.width // case.faces
        scale = min(slot * 0.9 / w, case.height * 0.8 / h)
        head = cv2.resize(photo[y : y + h, x : x + w], (round(w * scale), round(h * scale)),
                          interpolation=cv2.INTER_AREA)
        sprites = [head] * case.faces
    background = _background(case.width, case.height)
    slot = case.width // len(sprites)
    for index in range(case.frames):
        frame = background.copy()
        for number, sprite in enumerate(sprites):
            sprite_h, sprite_w = sprite.shape[:2]
            room_x, room_y = max(0, slot - sprite_w), max(0, case.height - sprite_h)
            phase = 2 * math.pi * index / 200 + number
            left = number * slot + round(room_x / 2 * (1 + math.sin(phase)))
            top = round(room_y / 2 * (1 + 0.5 * math.sin(2 * math.pi * index / 130 + number)))
            right, bottom = min(case.width, left + sprite_w), min(case.height, top + sprite_h)
            frame[top:bottom, left:right] = sprite[: bottom - top, : right - left]
        yield frame


def ffmpeg_binary() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    return imageio_ffmpeg.get_ffmpeg_exe()


def write_case(case: VideoCase, path: Path) -> str:
    """Write the case's video to `path`; returns the codec used ("h264" or "mp4v")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    binary = ffmpeg_binary()
    if binary is None:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), case.fps, (case.width, case.height))
        for frame in case_frames(case):
            writer.write(frame)
        writer.release()
        return "mp4v"
    command = [
        binary, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
        "-s", f"{case.width}x{case.height}", "-r", str(case.fps), "-i", "-",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
        str(path),
    ]
    with subprocess.Popen(command, stdin=subprocess.PIPE) as encoder:
        assert encoder.stdin is not None
        for frame in case_frames(case):
            encoder.stdin.write(frame.tobytes())
        encoder.stdin.close()
        if encoder.wait() != 0:
            raise RuntimeError(f"ffmpeg could not write {path}")
    return "h264"
