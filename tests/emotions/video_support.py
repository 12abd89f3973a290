"""Small test videos, written by OpenCV's own writer (the wheel writes MPEG-4 part 2 `mp4v` in MP4,
VP8 in WebM and Motion JPEG in AVI; it cannot write H.264) from a real face photo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bench.frames import astronaut_bgr, place_in_frame

FOURCC = {".mp4": "mp4v", ".webm": "VP80", ".avi": "MJPG"}


def write_video(path: Path, frames: list[np.ndarray], *, fps: float = 30.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC[path.suffix]), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path.suffix}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def face_frames(count: int, *, size: tuple[int, int] = (640, 480), side: int = 420) -> list[np.ndarray]:
    """The astronaut drifting slowly across a grey frame: one face in every frame."""
    photo = astronaut_bgr()
    return [place_in_frame(photo, 20 + 2 * index, 30, side=side, frame_size=size) for index in range(count)]


def face_video(path: Path, count: int = 30, *, fps: float = 30.0) -> Path:
    return write_video(path, face_frames(count), fps=fps)


def blank_video(path: Path, count: int = 10, *, size: tuple[int, int] = (320, 240), fps: float = 30.0) -> Path:
    return write_video(path, [np.full((size[1], size[0], 3), 120, np.uint8)] * count, fps=fps)
