"""Knowledge distillation: training targets mixed with a trained model's probabilities.

A teacher (usually the shipped ensemble, mirror view included) is run once over the Training
faces; each face's target becomes `(1 - weight) * target + weight * teacher probabilities`, so a
single student network learns which faces the ensemble finds ambiguous and between which
emotions, not only the one label FER-2013 gives. The teacher's probabilities are taken before its
calibration temperature (which sharpens the shipped model's scores): softer targets carry more of
what the teacher knows. An int8 teacher (as shipped) rounds its probabilities to steps of about
0.004, so the smallest shares of its tail come out as 0. Above a weight of 0.5 the teacher may
outvote the label; at exactly 0.5 a teacher sure of another class ties with it.

The student is still chosen on the validation split by its own accuracy; the teacher only shapes
its targets.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from training.core.artifacts import write_whole
from training.core.data import FaceDataset
from training.core.labels import EMOTIONS

logger = logging.getLogger(__name__)


def teacher_probabilities(teacher_dir: str | Path, data: FaceDataset, *, cache: Path | None = None) -> np.ndarray:
    """The teacher's class probabilities (N, 7) for `data`'s faces, from its LiteRT export; with
    `cache`, read from that file if it holds probabilities for as many faces, else computed and kept
    there."""
    from training.core.evaluate import predict_probabilities

    expected = (len(data), len(EMOTIONS))
    if cache is not None and cache.is_file():
        kept = np.load(cache)
        if kept.shape == expected:
            logger.info("teacher probabilities of %d faces read from %s", len(data), cache)
            return kept
    started = time.monotonic()
    probabilities = predict_probabilities(teacher_dir, data.pixels)
    if probabilities.shape != expected or not np.isfinite(probabilities).all():
        raise ValueError(f"{teacher_dir}: the teacher gave unusable probabilities "
                         f"(shape {probabilities.shape}, expected {expected})")
    logger.info("teacher %s: probabilities for %d faces in %.0f s (agrees with the labels on %.1f %%)",
                teacher_dir, len(data), time.monotonic() - started,
                100 * float((probabilities.argmax(axis=1) == data.labels).mean()))
    probabilities = probabilities.astype(np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_whole(cache, lambda partial: np.save(partial, probabilities))
    return probabilities


def distilled_targets(targets: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """Each row of `targets` mixed with the teacher's row at `weight` (0: the targets, 1: the teacher)."""
    if not 0 <= weight <= 1:
        raise ValueError(f"the teacher weight must lie in 0..1, got {weight}")
    if targets.shape != teacher.shape:
        raise ValueError(f"targets {targets.shape} and teacher probabilities {teacher.shape} differ in shape")
    # A quantised teacher's rows sum to 1 only roughly; targets must be distributions.
    shares = teacher / np.maximum(teacher.sum(axis=1, keepdims=True), 1e-12)
    return ((1 - weight) * targets + weight * shares).astype(np.float32)
