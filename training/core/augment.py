"""Training-time augmentation, built from Keras preprocessing layers.

Applied in the input pipeline (not inside the model), so the exported model stays a plain
classifier.
"""

from __future__ import annotations

import keras
from keras import layers


def build_augmenter(seed: int = 0) -> keras.Sequential:
    """Horizontal flip, small shifts, zoom, rotation, brightness/contrast, random erasing.

    The layers compute in float32 whatever the process's precision policy: a network trained in
    bfloat16 still gets its images drawn at full precision (and some layers have no 16-bit kernels).
    """
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed, dtype="float32"),
            layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 1, dtype="float32"),
            layers.RandomZoom((-0.1, 0.1), fill_mode="nearest", seed=seed + 2, dtype="float32"),
            layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed + 3, dtype="float32"),
            layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed + 4, dtype="float32"),
            layers.RandomContrast(0.2, value_range=(0, 255), seed=seed + 5, dtype="float32"),
            layers.RandomErasing(factor=0.5, scale=(0.02, 0.15), value_range=(0, 255), seed=seed + 6,
                                 dtype="float32"),
        ],
        name="augment",
    )
