"""The files of a model's artifact directory: what `train` and `ensemble` write (a live variant is
added beside an ensemble, models/shipped/command.txt), and what serving, the registry and the model
page read. Their names are defined here once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

MODEL_FILE = "model.tflite"  # the directory's main model
# An ensemble's live variant: its networks without the mirror view, named in config.json's "live_variant".
LIVE_MODEL_FILE = "model_live.tflite"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"  # the main model's evaluation on PrivateTest
LIVE_METRICS_FILE = "metrics_live.json"  # the live variant's


def metrics_file_for(model_file: str) -> str:
    """Where `evaluate` writes a model file's figures by default: never over another file's."""
    if model_file == MODEL_FILE:
        return METRICS_FILE
    if model_file == LIVE_MODEL_FILE:
        return LIVE_METRICS_FILE
    return f"metrics_{Path(model_file).stem}.json"


def has_live_variant(model_dir: str | Path) -> bool:
    """Whether the directory's config names its live variant and the file is there: a
    `model_live.tflite` left over from another model (a directory overwritten by a new model) is
    not used."""
    try:
        config = json.loads((Path(model_dir) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return False
    variant = config.get("live_variant") if isinstance(config, dict) else None
    return (isinstance(variant, dict) and variant.get("file") == LIVE_MODEL_FILE
            and (Path(model_dir) / LIVE_MODEL_FILE).is_file())


def served_model_files(model_dir: str | Path) -> list[str]:
    """The model files a server loads from the directory: the main model, and its live variant if named."""
    return [MODEL_FILE, *([LIVE_MODEL_FILE] if has_live_variant(model_dir) else [])]


def write_whole(path: Path, write: Callable[[Path], object]) -> None:
    """`write` a file beside `path` that then replaces it: a process killed midway (a worker taken
    down while it saves a checkpoint) leaves the previous file whole. The file beside keeps
    `path`'s suffix, which Keras and NumPy insist on."""
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    write(partial)
    partial.replace(path)
