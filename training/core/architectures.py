"""Network architectures, selectable by name.

Every model takes (48, 48, 1) float pixels in 0..255 (it rescales itself) and returns
softmax probabilities over the seven emotions in FER-2013 order.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from training.core.data import EMOTIONS, IMAGE_SIZE

INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)


def _conv_bn_relu(x, filters: int, kernel: int = 3, name: str = ""):
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_seed(num_classes: int = len(EMOTIONS)) -> keras.Model:
    """The report's CNN as described: four conv blocks (64·3x3, 128·5x5, 512·3x3, 512·3x3),
    each conv → batch norm → ReLU → 2x2 max-pool → dropout; dense 256 and 512; softmax."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1 / 255.0, name="rescale")(inputs)
    for index, (filters, kernel) in enumerate([(64, 3), (128, 5), (512, 3), (512, 3)], start=1):
        x = _conv_bn_relu(x, filters, kernel, name=f"block{index}")
        x = layers.MaxPooling2D(2, name=f"block{index}_pool")(x)
        x = layers.Dropout(0.25, name=f"block{index}_drop")(x)
    x = layers.Flatten(name="flatten")(x)
    for index, units in enumerate([256, 512], start=1):
        x = layers.Dense(units, use_bias=False, name=f"fc{index}")(x)
        x = layers.BatchNormalization(name=f"fc{index}_bn")(x)
        x = layers.ReLU(name=f"fc{index}_relu")(x)
        x = layers.Dropout(0.25, name=f"fc{index}_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="seed")


def build_fernet(
    num_classes: int = len(EMOTIONS), width: int = 48, blocks: tuple[int, int, int] = (1, 1, 1),
    name: str = "fernet",
) -> keras.Model:
    """Our CPU-friendly net: a cheap single conv at full 48x48 resolution (where convolutions
    cost most), then three residual stages at 24, 12 and 6 pixels with channels doubling, global
    average pooling and one hidden dense layer. With the defaults about 60 M multiply-adds per face."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1 / 255.0, name="rescale")(inputs)
    x = _conv_bn_relu(x, 32, name="stem")
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    for stage, (filters, stage_blocks) in enumerate(zip([width, width * 2, width * 4], blocks, strict=True), start=1):
        for block in range(1, stage_blocks + 1):
            # The first block of a stage keeps its historical layer names (fernet-v1 checkpoints load).
            prefix = f"stage{stage}" if block == 1 else f"stage{stage}_{block}"
            x = _residual_block(x, filters, project=block == 1, name=prefix)
        x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
        x = layers.SpatialDropout2D(0.1, name=f"stage{stage}_drop")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(256, use_bias=False, name="fc")(x)
    x = layers.BatchNormalization(name="fc_bn")(x)
    x = layers.ReLU(name="fc_relu")(x)
    x = layers.Dropout(0.4, name="fc_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)


def _residual_block(x, filters: int, *, project: bool, name: str):
    """Two 3x3 convs with an identity shortcut (a 1x1 projection where the channels change)."""
    shortcut = x
    if project:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    x = _conv_bn_relu(x, filters, name=f"{name}_a")
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_b_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_b_bn")(x)
    x = layers.Add(name=f"{name}_add")([x, shortcut])
    return layers.ReLU(name=f"{name}_relu")(x)


def build_fernet_deep(num_classes: int = len(EMOTIONS)) -> keras.Model:
    """fernet with two residual blocks at 12x12 and at 6x6: twice the layers where they are cheap
    (about 110 M multiply-adds, 1.6 M weights); trains at ~3/4 of fernet's speed on a CPU."""
    return build_fernet(num_classes, blocks=(1, 2, 2), name="fernet_deep")


def build_tiny(num_classes: int = len(EMOTIONS)) -> keras.Model:
    """A few thousand weights: for tests and smoke runs of the pipeline, not for accuracy."""
    inputs = keras.Input(INPUT_SHAPE, name="face")
    x = layers.Rescaling(1 / 255.0, name="rescale")(inputs)
    x = _conv_bn_relu(x, 8, name="block1")
    x = layers.MaxPooling2D(4, name="block1_pool")(x)
    x = _conv_bn_relu(x, 16, name="block2")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="tiny")


ARCHITECTURES: dict[str, Callable[[], keras.Model]] = {
    "seed": build_seed,
    "fernet": build_fernet,
    "fernet_deep": build_fernet_deep,
    "tiny": build_tiny,
}


def build(name: str) -> keras.Model:
    try:
        builder = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}") from None
    return builder()
