"""Training-time augmentation: Keras preprocessing layers, and mixup.

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


def mix_up(images, targets, *, alpha: float, seed):
    """Mixup of one batch: each image and its target blended with the previous ones in the batch
    (a shuffled batch: a random partner) by a share drawn from Beta(alpha, alpha); each face keeps
    the larger share, so it stays the main face of its blend. `seed`: a stateless seed (two
    integers), so that a run draws the same shares again."""
    import tensorflow as tf

    count = tf.shape(images)[0]
    share = tf.math.sigmoid(_log_gamma_draws(count, alpha, seed, 0) - _log_gamma_draws(count, alpha, seed, 1))
    share = tf.maximum(share, 1.0 - share)
    partner_images, partner_targets = tf.roll(images, shift=1, axis=0), tf.roll(targets, shift=1, axis=0)
    image_share = tf.reshape(share, [-1, 1, 1, 1])
    target_share = tf.reshape(share, [-1, 1])
    return (image_share * images + (1.0 - image_share) * partner_images,
            target_share * targets + (1.0 - target_share) * partner_targets)


def _log_gamma_draws(count, alpha: float, seed, stream: int):
    """log of `count` Gamma(alpha) draws, as log Gamma(alpha + 1) + log(U) / alpha: a Gamma(alpha)
    draw itself underflows float32 for small alphas (0.01 and below), which would make the share
    X / (X + Y) a flat 0.5 instead of nearly 0 or 1."""
    import tensorflow as tf

    seed = tf.cast(seed, tf.int64) + tf.constant([0, 1_000_003 * (stream + 1)], tf.int64)
    gamma = tf.random.stateless_gamma([count], seed=seed, alpha=alpha + 1.0, dtype=tf.float32)
    uniform = tf.random.stateless_uniform([count], seed=seed + 1, minval=1e-30, maxval=1.0, dtype=tf.float32)
    return tf.math.log(gamma) + tf.math.log(uniform) / alpha
