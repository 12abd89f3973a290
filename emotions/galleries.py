"""Sample-face galleries: small PNGs per emotion, written from FER-2013 Training into MEDIA_ROOT.

The data set is not ours to redistribute, so the images are generated on each machine and never
committed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.core.labels import EMOTIONS

GALLERY_FOLDER = "galleries"
FACES_PER_EMOTION = 24
DISPLAY_SIZE = 96


def gallery_dir(media_root: Path, emotion: str) -> Path:
    return Path(media_root) / GALLERY_FOLDER / emotion


def build_galleries(pixels: np.ndarray, labels: np.ndarray, media_root: Path, *,
                    per_emotion: int = FACES_PER_EMOTION, seed: int = 0) -> dict[str, int]:
    """Write `per_emotion` random faces of each emotion as upscaled PNGs; return counts written."""
    rng = np.random.default_rng(seed)
    written: dict[str, int] = {}
    for index, emotion in enumerate(EMOTIONS):
        folder = gallery_dir(media_root, emotion)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        rows = np.flatnonzero(labels == index)
        # Skip blank images (a few FER-2013 rows are constant).
        rows = rows[pixels[rows].reshape(len(rows), -1).std(axis=1) > 5]
        chosen = rng.choice(rows, size=min(per_emotion, len(rows)), replace=False) if len(rows) else []
        for number, row in enumerate(chosen):
            face = cv2.resize(pixels[row], (DISPLAY_SIZE, DISPLAY_SIZE), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(folder / f"{number:02d}.png"), face)
        written[emotion] = len(chosen)
    return written


def gallery_images(media_root: Path, emotion: str) -> list[str]:
    """File names of the gallery images of `emotion`, relative to MEDIA_ROOT, in order."""
    folder = gallery_dir(media_root, emotion)
    if not folder.is_dir():
        return []
    return [f"{GALLERY_FOLDER}/{emotion}/{p.name}" for p in sorted(folder.glob("*.png"))]
