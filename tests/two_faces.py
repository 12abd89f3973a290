"""Test support: camera-like frames with two real faces (two copies of scikit-image's astronaut)."""

from __future__ import annotations

import numpy as np

FRAME_SIZE = (640, 480)
PORTRAIT_FACE_CENTRE = (112, 112)  # where the face is in the portrait (~97 px wide)
LEFT_TOP, RIGHT_TOP = (20, 110), (390, 110)  # where the two portraits go when nothing has moved


def portrait() -> np.ndarray:
    """The astronaut's head and shoulders, 230x250 BGR."""
    from bench.frames import astronaut_bgr

    return astronaut_bgr()[0:250, 110:340]


def two_faces_frame(shift: int = 0, *, head: np.ndarray | None = None) -> np.ndarray:
    """A 640x480 BGR frame: one face on the left moved `shift` px right and down a little, one still
    face on the right; a soft grey gradient behind them."""
    head = portrait() if head is None else head
    width, height = FRAME_SIZE
    row = np.linspace(90, 150, width, dtype=np.float32)
    frame = np.repeat(np.tile(row, (height, 1))[..., None], 3, axis=2).astype(np.uint8)
    for left, top in ((LEFT_TOP[0] + shift, LEFT_TOP[1] + shift // 4), RIGHT_TOP):
        frame[top : top + head.shape[0], left : left + head.shape[1]] = head
    return frame
