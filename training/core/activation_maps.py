"""Feature maps of each convolutional block for one face image, as PNG grids (as in the report)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from training.core.data import IMAGE_SIZE, DataFormatError


def load_face(path: str | Path) -> np.ndarray:
    """A face image file as (48, 48) uint8 grayscale (the whole image is taken as the face)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DataFormatError(path, "not a readable image")
    return cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)


def block_outputs(model) -> list:
    """The last activation of each conv block: the 4-D layers right before a (global) pooling layer."""
    import keras

    chosen = []
    for layer, following in itertools.pairwise(model.layers):
        pooling = (keras.layers.MaxPooling2D, keras.layers.GlobalAveragePooling2D)
        if isinstance(following, pooling) and len(layer.output.shape) == 4:
            chosen.append(layer)
    return chosen


def convolutional_model(model):
    """The model whose conv blocks are drawn: an ensemble's first member, any other model itself."""
    import keras

    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return members[0] if members else model


def write_activation_maps(model_path: str | Path, face: np.ndarray, out_dir: str | Path,
                          max_maps: int = 64) -> list[Path]:
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    import training.core.ensemble  # noqa: F401  (registers the layers an ensemble is saved with)

    model = convolutional_model(keras.models.load_model(model_path, compile=False))
    layers = block_outputs(model)
    probe = keras.Model(model.inputs, [layer.output for layer in layers])
    outputs = probe([face.astype(np.float32)[None, ..., None]], training=False)
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    written = []
    for index, (layer, maps) in enumerate(zip(layers, outputs, strict=True), start=1):
        maps = np.asarray(maps)[0]
        count = min(maps.shape[-1], max_maps)
        columns = math.ceil(math.sqrt(count))
        rows = math.ceil(count / columns)
        fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.1 + 0.4))
        for position, ax in enumerate(np.atleast_1d(axes).ravel()):
            ax.axis("off")
            if position < count:
                ax.imshow(maps[..., position], cmap="viridis")
        fig.suptitle(f"block {index}: {layer.name} ({maps.shape[0]}x{maps.shape[1]}, {maps.shape[-1]} maps)")
        path = out_dir / f"block{index}_{layer.name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written
