"""Test support: a tiny exported emotion model (built once per session) and where YuNet is."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

YUNET_PATH = Path(os.environ.get("YUNET_MODEL_PATH") or "/work/shared/models/yunet/face_detection_yunet_2023mar.onnx")

_cache: dict[str, Path] = {}


def build_tiny_model_dir(folder: Path) -> Path:
    """An artifact directory holding the `tiny` architecture, fitted one step on random faces."""
    import keras

    from training.core.architectures import build
    from training.core.export import export_tflite

    keras.utils.set_random_seed(0)
    model = build("tiny")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (16, 48, 48, 1)).astype(np.float32)
    model.fit(faces, rng.integers(0, 7, 16), epochs=1, batch_size=16, verbose=0)
    folder.mkdir(parents=True, exist_ok=True)
    export_tflite(model, folder / "model.tflite")
    return folder


def shared_tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's tiny model directory; exported on first use only (TensorFlow is slow to start)."""
    if "dir" not in _cache:
        _cache["dir"] = build_tiny_model_dir(tmp_path_factory.mktemp("tiny-model"))
    return _cache["dir"]
