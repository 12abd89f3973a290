"""Calibrated scores: a temperature fitted on a held-out split, so that "80 %" is right 80 % of the time.

A network trained with label smoothing and averaged with others is under-confident (or, without
them, over-confident); the argmax is right but the probabilities users read are not. One number, the
temperature T, rescales the model's log-probabilities (softmax(log p / T)); it is fitted on
PublicTest by minimising the log loss and never changes which class wins, so accuracy is untouched.

Plain NumPy, no TensorFlow: the recognition core imports this module (with `labels`) to apply the
temperature written in a model's `config.json` to every score it gives.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from training.core.artifacts import CONFIG_FILE, MODEL_FILE

CALIBRATION_BINS = 15  # equal-width confidence bins of the expected calibration error
TEMPERATURE_RANGE = (0.2, 5.0)  # the search interval: far beyond any sensible fit at both ends
_EPSILON = 1e-12


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T), row by row; T = 1 gives the probabilities back."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if temperature == 1.0 or probabilities.size == 0:
        return probabilities.astype(np.float32)
    logits = np.log(np.clip(probabilities, _EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the true class."""
    chosen = np.asarray(probabilities)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.mean(np.log(np.clip(chosen, _EPSILON, 1.0))))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature with the lowest log loss on these labelled probabilities.

    The log loss is convex in 1/T, so a golden-section search over 1/T finds the minimum.
    """
    if len(labels) == 0:
        raise ValueError("cannot fit a temperature on no faces")
    low, high = 1 / TEMPERATURE_RANGE[1], 1 / TEMPERATURE_RANGE[0]
    ratio = (np.sqrt(5) - 1) / 2

    def loss(inverse: float) -> float:
        return log_loss(apply_temperature(probabilities, 1 / inverse), labels)

    left, right = high - ratio * (high - low), low + ratio * (high - low)
    loss_left, loss_right = loss(left), loss(right)
    while high - low > 1e-4:
        if loss_left < loss_right:
            high, right, loss_right = right, left, loss_left
            left = high - ratio * (high - low)
            loss_left = loss(left)
        else:
            low, left, loss_left = left, right, loss_right
            right = low + ratio * (high - low)
            loss_right = loss(right)
    return round(float(2 / (low + high)), 4)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, *,
                               bins: int = CALIBRATION_BINS) -> float:
    """The gap between confidence and accuracy, averaged over equal-width confidence bins weighted
    by their share of faces (0 = every score means what it says)."""
    probabilities = np.asarray(probabilities)
    if len(labels) == 0:
        return 0.0
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    bin_of = np.minimum((confidence * bins).astype(int), bins - 1)
    gap = 0.0
    for index in range(bins):
        members = bin_of == index
        if members.any():
            gap += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(gap)


def calibration_report(probabilities: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """Log loss and expected calibration error before and after the temperature, on one split."""
    calibrated = apply_temperature(probabilities, temperature)
    return {
        "temperature": temperature,
        "ece_before": expected_calibration_error(probabilities, labels),
        "ece_after": expected_calibration_error(calibrated, labels),
        "log_loss_before": log_loss(probabilities, labels),
        "log_loss_after": log_loss(calibrated, labels),
        "bins": CALIBRATION_BINS,
    }


def _config_entry(config: dict, model_file: str) -> dict | None:
    """The part of a model directory's config that describes `model_file` (its live variant or the main model)."""
    live = config.get("live_variant")
    if isinstance(live, dict) and live.get("file") == model_file:
        return live
    return config if model_file == MODEL_FILE else None


def recorded_calibration(model_path: str | Path) -> dict:
    """What `calibrate` recorded for this model file in its directory's `config.json` ({} if nothing)."""
    model_path = Path(model_path)
    try:
        config = json.loads((model_path.parent / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return {}
    entry = _config_entry(config, model_path.name) if isinstance(config, dict) else None
    calibration = entry.get("calibration") if entry else None
    return calibration if isinstance(calibration, dict) else {}


def model_temperature(model_path: str | Path) -> float:
    """The temperature written for this model file in its directory's `config.json`; 1 (scores as
    the network gives them) for a model never calibrated."""
    return checked_temperature(recorded_calibration(model_path), model_path)


def checked_temperature(calibration: dict, model_path: str | Path) -> float:
    """The temperature of a recorded calibration (1 if none), refused if it cannot be applied."""
    try:
        temperature = float(calibration.get("temperature", 1.0))
    except (TypeError, ValueError):
        raise ValueError(f"{model_path}: calibration temperature {calibration.get('temperature')!r} "
                         "is not a number") from None
    if not TEMPERATURE_RANGE[0] <= temperature <= TEMPERATURE_RANGE[1]:  # NaN fails this too
        raise ValueError(f"{model_path}: calibration temperature {temperature} is outside {TEMPERATURE_RANGE}")
    return temperature


def write_calibration(model_path: str | Path, calibration: dict) -> Path:
    """Record `calibration` (with its `temperature`) for this model file in its directory's `config.json`."""
    model_path = Path(model_path)
    config_path = model_path.parent / CONFIG_FILE
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    entry = _config_entry(config, model_path.name)
    if entry is None:
        raise ValueError(f"{config_path} does not describe {model_path.name} "
                         f"(neither {MODEL_FILE} nor its live variant)")
    entry["calibration"] = calibration
    # Written beside and renamed over: a server loading the model never reads half a file.
    handle, partial = tempfile.mkstemp(dir=config_path.parent, prefix=".config-", suffix=".json")
    with os.fdopen(handle, "w") as file:
        file.write(json.dumps(config, indent=2) + "\n")
    Path(partial).replace(config_path)
    return config_path
