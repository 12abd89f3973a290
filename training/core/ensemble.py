"""Combine trained model directories into one classifier.

The combined model averages the members' probabilities and, with `flip`, also each member's
probabilities for the mirror image (flip test-time augmentation). It is one Keras model and one
`.tflite` file, so the app and `evaluate` run it like any other model and measure exactly what the
app does; the cost per face is the sum of the members' costs (twice that with `flip`).

A member may itself be an ensemble written here: it contributes its networks (not its weights or
flip), so a shipped ensemble can take a new network without the runs its members came from;
`DIR#N` takes only its N-th network (from 1).
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

from training.core.architectures import INPUT_SHAPE
from training.core.artifacts import CONFIG_FILE, METRICS_FILE, MODEL_FILE
from training.core.labels import EMOTIONS, check_model_labels


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


MEMBER_PREFIX = re.compile(r"^member(\d+)_")


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
        name = f"member{index}_{MEMBER_PREFIX.sub('', member.name)}"
        member = keras.Model(member.input, member.output, name=name)
        outputs.extend(member(view) for view in views)
        output_weights.extend([weight / len(views)] * len(views))
    if len(outputs) == 1:
        return keras.Model(inputs, outputs[0], name="ensemble")
    return keras.Model(inputs, WeightedAverage(output_weights, name="emotion")(outputs), name="ensemble")


def _read_config(model_dir: Path) -> dict:
    path = model_dir / CONFIG_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


MEMBER_RECORDS = (CONFIG_FILE, "history.json", METRICS_FILE, "metrics_curves.png")


def _records_name(index: int, source: str) -> str:
    return f"{index}-{Path(source).resolve().name}"


@dataclass
class Member:
    """One network of an ensemble, with where it came from."""

    model: keras.Model
    source: str  # the run directory it was trained in
    config: dict  # architecture, seed and the commands that trained it
    records: Path  # directory holding its config, history, metrics and curves


MEMBER_PICK = re.compile(r"^(?P<dir>.+)#(?P<index>\d+)$")


def load_members(model_dir: str | Path) -> list[Member]:
    """The networks in an artifact directory: the model itself or, for an ensemble, each member;
    `DIR#N` names only the N-th of them."""
    pick = MEMBER_PICK.match(str(model_dir))
    if pick and not Path(model_dir).exists():
        return [load_member(pick["dir"], int(pick["index"]))]
    model_dir = Path(model_dir)
    if not (model_dir / "model.keras").is_file():
        raise FileNotFoundError(f"{model_dir}: no model.keras in this directory")
    check_model_labels(model_dir)
    model = keras.models.load_model(model_dir / "model.keras", compile=False)
    config = _read_config(model_dir)
    if config.get("architecture") != "ensemble":
        return [Member(model, str(model_dir), config, model_dir)]
    nested = {int(MEMBER_PREFIX.match(layer.name).group(1)): layer for layer in model.layers
              if isinstance(layer, keras.Model) and MEMBER_PREFIX.match(layer.name)}
    if len(nested) != len(config.get("members", [])):
        raise ValueError(f"{model_dir}: config.json lists {len(config.get('members', []))} members, "
                         f"model.keras holds {len(nested)}")
    return [Member(nested[index], entry["dir"], entry, model_dir / "members" / _records_name(index, entry["dir"]))
            for index, entry in enumerate(config["members"], start=1)]


def load_member(model_dir: str | Path, index: int) -> Member:
    """The `index`-th network (from 1) of an artifact directory; 1 for a single network."""
    members = load_members(model_dir)
    if not 1 <= index <= len(members):
        raise ValueError(f"{model_dir} holds {len(members)} network(s); #{index} is not one of them")
    return members[index - 1]


def member_probabilities(members: list[Member], pixels: np.ndarray, *, flip: bool) -> np.ndarray:
    """(members, N, classes): each member's probabilities, averaged with the mirror view if `flip`."""
    faces = pixels.astype(np.float32)[..., None]
    results = []
    for member in members:
        probabilities = member.model.predict(faces, batch_size=256, verbose=0)
        if flip:
            probabilities = (probabilities + member.model.predict(faces[:, :, ::-1], batch_size=256, verbose=0)) / 2
        results.append(probabilities)
    return np.stack(results)


def weight_grid(count: int, steps: int):
    """Every way to split 1 into `count` non-negative weights in multiples of 1/steps."""
    for cuts in itertools.combinations(range(steps + count - 1), count - 1):
        parts = np.diff([-1, *cuts, steps + count - 1]) - 1
        yield [part / steps for part in parts]


def choose_weights(probabilities: np.ndarray, labels: np.ndarray, *, steps: int = 10) -> list[dict]:
    """Grid candidates ranked by accuracy of the weighted mean (ties: lower log loss), best first."""
    candidates = []
    for weights in weight_grid(len(probabilities), steps):
        mixed = np.tensordot(weights, probabilities, axes=1)
        accuracy = float(np.mean(mixed.argmax(axis=1) == labels))
        log_loss = float(-np.mean(np.log(np.clip(mixed[np.arange(len(labels)), labels], 1e-7, 1))))
        candidates.append({"weights": [round(w, 6) for w in weights], "accuracy": accuracy, "log_loss": log_loss})
    return sorted(candidates, key=lambda c: (-c["accuracy"], c["log_loss"]))


def _copy_member_records(members: list[Member], destination: Path) -> None:
    """Keep each member's configuration, history, metrics and curves beside the ensemble."""
    for index, member in enumerate(members, start=1):
        target = destination / _records_name(index, member.source)
        target.mkdir(parents=True, exist_ok=True)
        for name in MEMBER_RECORDS:
            if (member.records / name).is_file():
                shutil.copyfile(member.records / name, target / name)


def write_ensemble(
    member_dirs: list[str | Path],
    out: str | Path,
    *,
    flip: bool = False,
    weights: list[float] | None = None,
    weight_selection: tuple[np.ndarray, np.ndarray, str] | None = None,
    calibration: np.ndarray | None = None,
    calibration_source: str = "",
    command: str | None = None,
) -> Path:
    """Write an artifact directory (model.keras, model.tflite, config.json, command.txt and the
    members' records under `members/`) for the ensemble of the models in `member_dirs`; returns
    `out`. `weight_selection` (faces, labels, description) picks the weights on that labelled set
    from a 0.1 grid instead of `weights`. With `calibration` faces, the `.tflite` export is
    quantized to int8 (see `export_tflite`)."""
    from training.core.export import export_tflite

    if weights is not None and weight_selection is not None:
        raise ValueError("give either weights or a set to choose them on, not both")
    members = [member for model_dir in member_dirs for member in load_members(model_dir)]
    selection = {}
    if weight_selection is not None:
        faces, labels, description = weight_selection
        ranked = choose_weights(member_probabilities(members, faces, flip=flip), labels)
        weights = ranked[0]["weights"]
        selection = {"weights_chosen_on": description, "weight_candidates": ranked[:10]}
    weights = normalised_weights(weights, len(members))  # refuses bad weights before anything is written
    model = build_ensemble([member.model for member in members], flip=flip, weights=weights)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    export_tflite(model, out / MODEL_FILE, calibration=calibration)
    command = command or shlex.join(sys.argv)
    entries = [
        {"dir": member.source, "architecture": member.config.get("architecture", ""),
         "seed": member.config.get("seed"),
         "commands": member.config.get("commands", [member.config["command"]] if "command" in member.config else [])}
        for member in members
    ]
    config = {
        "architecture": "ensemble",
        "labels": list(EMOTIONS),
        "flip": flip,
        "weights": weights,
        **selection,
        "int8": calibration is not None,
        "int8_calibration": calibration_source if calibration is not None else "",
        "members": entries,
        "command": command,
    }
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    _copy_member_records(members, out / "members")
    lines = [f"# member {entry['dir']}\n" + "\n".join(entry["commands"]) for entry in entries]
    (out / "command.txt").write_text("\n".join([*lines, "# ensemble", command]) + "\n")
    return out
