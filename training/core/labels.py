"""FER-2013's classes and splits: the contract every data set, model and page of Moodlens shares.

Plain Python in the training core, which owns the data sets and the models; the recognition core
imports this module (with `calibration` and the file names of `artifacts`) to read a model's
outputs, so the labels are defined once without `training` ever importing `emotions`.
"""

from __future__ import annotations

import json
from pathlib import Path

from training.core.artifacts import CONFIG_FILE

# The seven emotions in FER-2013's class order: a data set's label i, a model's output i.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# The splits of FER-2013's `Usage` column, in the order of the shared `.npz`'s `usage` indices.
SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")


class LabelMismatchError(ValueError):
    """A model names other classes, or the same in another order, than `EMOTIONS`."""


def check_model_labels(model_dir: str | Path) -> None:
    """Refuse (LabelMismatchError) a model directory whose `config.json` lists class labels other
    than `EMOTIONS`: its outputs would be read as the wrong emotions. A config written before
    models recorded their labels, or none at all, passes (the loader checks the number of outputs)."""
    path = Path(model_dir) / CONFIG_FILE
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    labels = config.get("labels") if isinstance(config, dict) else None
    if labels is not None and tuple(labels) != EMOTIONS:
        raise LabelMismatchError(f"{model_dir}: the model's classes are {', '.join(map(str, labels))}; this "
                                 f"service reads its outputs as {', '.join(EMOTIONS)}")
