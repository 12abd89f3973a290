"""Synthetic camera frames with a real face, for the benchmarks and the tests.

The frames show scikit-image's astronaut photo (a real face, public domain) on a plain
640x480 background. scikit-image is a development dependency, imported only when frames are made.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

FRAME_SIZE = (640, 480)  # width, height: a webcam frame
PHOTO_SIDE = 420  # the astronaut photo is scaled to this; her face is then about 80 px wide
JPEG_QUALITY = 85
POSITIONS = 8  # independent frames: the photo at this many positions, each encoded once


def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut photo (512x512, one frontal face) as BGR uint8."""
    try:
        from skimage import data
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError("the benchmark frames need scikit-image (see requirements-dev.txt)") from error
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def place_in_frame(
    photo: np.ndarray,
    left: int,
    top: int,
    *,
    side: int = PHOTO_SIDE,
    frame_size: tuple[int, int] = FRAME_SIZE,
    frame: np.ndarray | None = None,
) -> np.ndarray:
    """`photo` scaled to `side` x `side` and pasted at (left, top) on a grey frame (or on `frame`)."""
    width, height = frame_size
    if frame is None:
        # A soft horizontal gradient rather than a flat colour, like a wall in a room.
        row = np.linspace(90, 150, width, dtype=np.float32)
        frame = np.repeat(np.tile(row, (height, 1))[..., None], 3, axis=2).astype(np.uint8)
    else:
        frame = frame.copy()
    scaled = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    right, bottom = min(width, left + side), min(height, top + side)
    frame[top:bottom, left:right] = scaled[: bottom - top, : right - left]
    return frame


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()


def independent_frames(photo: np.ndarray, count: int = POSITIONS) -> list[bytes]:
    """JPEG frames with the photo at `count` different positions, spread over the frame."""
    width, height = FRAME_SIZE
    frames = []
    for index in range(count):
        fraction = index / max(1, count - 1)
        left = round(20 + fraction * (width - PHOTO_SIDE - 40))
        top = round(10 + (index % 3) / 2 * (height - PHOTO_SIDE - 20))
        frames.append(encode_jpeg(place_in_frame(photo, left, top)))
    return frames


def moving_face_positions(count: int) -> list[tuple[int, int]]:
    """A smooth path of the photo's top-left corner: at most ~3 px per frame, like a person
    shifting in front of a webcam."""
    width, height = FRAME_SIZE
    centre_x, centre_y = (width - PHOTO_SIDE) // 2, (height - PHOTO_SIDE) // 2
    amplitude_x, amplitude_y = 90, 25
    return [
        (
            round(centre_x + amplitude_x * math.sin(2 * math.pi * index / 200)),
            round(centre_y + amplitude_y * math.sin(2 * math.pi * index / 130)),
        )
        for index in range(count)
    ]


def stream_frames(photo: np.ndarray, count: int) -> list[bytes]:
    return [encode_jpeg(place_in_frame(photo, left, top)) for left, top in moving_face_positions(count)]
