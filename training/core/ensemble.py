"""Combine trained model directories into one classifier.

The combined model averages the members' probabilities and, with `flip`, also each member's
probabilities for the mirror image (flip test-time augmentation). It is one Keras model and one
`.tflite` file, so the app and `evaluate` run it like any other model and measure exactly what the
app does; the cost per face is the sum of the members' costs (twice that with `flip`).
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
from keras import layers

from training.core.architectures import INPUT_SHAPE


@keras.saving.register_keras_serializable(package="moodlens")
class HorizontalFlip(layers.Layer):
    """Mirror (N, H, W, C) images left to right; deterministic, unlike RandomFlip."""

    def call(self, inputs):
        return keras.ops.flip(inputs, axis=2)


@keras.saving.register_keras_serializable(package="moodlens")
class WeightedAverage(layers.Layer):
    """sum(w_i * x_i) for fixed weights that add up to 1."""

    def __init__(self, weights: list[float], **kwargs) -> None:
        super().__init__(**kwargs)
        self.member_weights = [float(w) for w in weights]

    def call(self, inputs):
        return sum(weight * tensor for weight, tensor in zip(self.member_weights, inputs, strict=True))

    def get_config(self) -> dict:
        return {**super().get_config(), "weights": self.member_weights}


def normalised_weights(weights: list[float] | None, count: int) -> list[float]:
    """Member weights scaled to add up to 1; equal weights when none are given."""
    if weights is None:
        return [1 / count] * count
    if len(weights) != count or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"give {count} non-negative weights, one per member, not all zero")
    return [w / sum(weights) for w in weights]


def build_ensemble(
    members: list[keras.Model], *, flip: bool = False, weights: list[float] | None = None
) -> keras.Model:
    """One model whose output is the (weighted) mean of `members`' outputs, over both views with `flip`."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    member_weights = normalised_weights(weights, len(members))
    inputs = keras.Input(INPUT_SHAPE, name="face")
    views = [inputs, HorizontalFlip(name="mirror")(inputs)] if flip else [inputs]
    outputs, output_weights = [], []
    for index, (member, weight) in enumerate(zip(members, member_weights, strict=True), start=1):
        # A fresh functional wrapper gives each member a unique name inside the ensemble.
        member = keras.Model(member.input, member.output, name=f"member{index}_{member.name}")
        outputs.extend(member(view) for view in views)
        output_weights.extend([weight / len(views)] * len(views))
    if len(outputs) == 1:
        return keras.Model(inputs, outputs[0], name="ensemble")
    return keras.Model(inputs, WeightedAverage(output_weights, name="emotion")(outputs), name="ensemble")


def _read_config(model_dir: Path) -> dict:
    path = model_dir / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


MEMBER_RECORDS = ("config.json", "history.json", "metrics.json", "metrics_curves.png")


def _copy_member_records(member_dirs: list[Path], destination: Path) -> None:
    """Keep each member's configuration, history, metrics and curves beside the ensemble."""
    for index, model_dir in enumerate(member_dirs, start=1):
        target = destination / f"{index}-{model_dir.resolve().name}"
        target.mkdir(parents=True, exist_ok=True)
        for name in MEMBER_RECORDS:
            if (model_dir / name).is_file():
                shutil.copyfile(model_dir / name, target / name)


def combine(
    member_dirs: list[str | Path],
    out: str | Path,
    *,
    flip: bool = False,
    weights: list[float] | None = None,
    calibration: np.ndarray | None = None,
    calibration_source: str = "",
    command: str | None = None,
) -> Path:
    """Write an artifact directory (model.keras, model.tflite, config.json, command.txt and the
    members' records under `members/`) for the ensemble of the models in `member_dirs`; returns
    `out`. With `calibration` faces, the `.tflite` export is quantized to int8 (see `export_tflite`)."""
    from training.core.export import export_tflite

    member_dirs = [Path(d) for d in member_dirs]
    normalised_weights(weights, len(member_dirs))  # refuse bad weights before loading anything
    for model_dir in member_dirs:
        if not (model_dir / "model.keras").is_file():
            raise FileNotFoundError(f"{model_dir}: no model.keras in this directory")
    members = [keras.models.load_model(d / "model.keras", compile=False) for d in member_dirs]
    model = build_ensemble(members, flip=flip, weights=weights)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    export_tflite(model, out / "model.tflite", calibration=calibration)
    command = command or shlex.join(sys.argv)
    member_configs = [_read_config(d) for d in member_dirs]
    config = {
        "architecture": "ensemble",
        "flip": flip,
        "weights": normalised_weights(weights, len(member_dirs)),
        "int8": calibration is not None,
        "int8_calibration": calibration_source if calibration is not None else "",
        "members": [
            {"dir": str(d), "architecture": c.get("architecture", ""), "seed": c.get("seed"),
             "commands": c.get("commands", [c["command"]] if "command" in c else [])}
            for d, c in zip(member_dirs, member_configs, strict=True)
        ],
        "command": command,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    _copy_member_records(member_dirs, out / "members")
    lines = [f"# member {d}\n" + "\n".join(m["commands"]) for d, m in zip(member_dirs, config["members"], strict=True)]
    (out / "command.txt").write_text("\n".join([*lines, "# ensemble", command]) + "\n")
    return out
