"""Reads for the model page and the live page's note: the figures of the model in use, from the
`metrics.json` (full model) and `metrics_live.json` (its live variant) that `evaluate` writes into
its artifact directory. The figures are never written anywhere else: pages show what these files say.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emotions import active_model
from training.core.artifacts import LIVE_METRICS_FILE, METRICS_FILE
from training.core.labels import EMOTIONS

logger = logging.getLogger(__name__)

WEAK_CLASS_COUNT = 2  # the note names this many classes of the lowest F1 as the weak ones


@dataclass(frozen=True)
class ClassFigures:
    emotion: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Calibration:
    """How well the scores shown mean what they say: the expected calibration error (the average gap
    between a score and how often such a score is right) before and after the model's temperature."""

    temperature: float
    error_before: float
    error_after: float
    fitted_split: str = ""  # where the temperature was fitted (a held-out split, e.g. PublicTest)

    @property
    def error_before_points(self) -> float:
        return round(100 * self.error_before, 1)

    @property
    def error_after_points(self) -> float:
        return round(100 * self.error_after, 1)


@dataclass(frozen=True)
class Evaluation:
    """One metrics file: accuracy over `n` faces of `split` (e.g. FER-2013's PrivateTest)."""

    accuracy: float
    n: int
    split: str
    data: str
    macro_f1: float | None
    per_class: list[ClassFigures]
    calibration: Calibration | None = None

    @property
    def accuracy_percent(self) -> float:
        return round(100 * self.accuracy, 1)

    @property
    def correct(self) -> int:
        return round(self.accuracy * self.n)

    @property
    def weak_classes(self) -> list[str]:
        """The classes of the lowest F1, weakest first."""
        return [figures.emotion for figures in sorted(self.per_class, key=lambda c: c.f1)[:WEAK_CLASS_COUNT]]


@dataclass(frozen=True)
class ModelCard:
    model_dir: Path
    name: str
    architecture: str
    full: Evaluation | None  # what photos, videos and the API classify with
    live: Evaluation | None  # the live variant, when the directory has its figures


def _read_metrics(path: Path) -> dict[str, Any]:
    """A metrics file's JSON object; empty if it is missing or unreadable."""
    try:
        metrics = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        logger.warning("unreadable model metrics %s: %s", path, error)
        return {}
    return metrics if isinstance(metrics, dict) else {}


def evaluation_from(metrics: dict[str, Any]) -> Evaluation | None:
    """The figures of a metrics file's JSON, or None if it holds no evaluation."""
    try:
        per_class = metrics.get("per_class") or {}
        accuracy, n = float(metrics["accuracy"]), int(metrics["n"])
        if not (math.isfinite(accuracy) and 0 <= accuracy <= 1 and n > 0):
            return None
        return Evaluation(
            accuracy=accuracy,
            n=n,
            split=str(metrics.get("split") or ""),
            data=Path(str(metrics.get("data") or "")).name,
            macro_f1=None if metrics.get("macro_f1") is None else float(metrics["macro_f1"]),
            per_class=[
                ClassFigures(emotion=emotion, precision=float(per_class[emotion]["precision"]),
                             recall=float(per_class[emotion]["recall"]), f1=float(per_class[emotion]["f1"]),
                             support=int(per_class[emotion].get("support", 0)))
                for emotion in EMOTIONS if emotion in per_class
            ],
            calibration=_calibration_from(metrics.get("calibration")),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _calibration_from(figures: Any) -> Calibration | None:
    try:
        calibration = Calibration(temperature=float(figures["temperature"]), error_before=float(figures["ece_before"]),
                                  error_after=float(figures["ece_after"]),
                                  fitted_split=str(figures.get("fitted_split") or ""))
    except (ValueError, TypeError, KeyError):
        return None
    values = (calibration.temperature, calibration.error_before, calibration.error_after)
    return calibration if all(math.isfinite(value) for value in values) else None


def model_card(model_dir: Path | None = None) -> ModelCard:
    """The figures of the model in `model_dir` (default: the registry's active model, which every
    process classifies with; the one in use here when the registry cannot be read)."""
    if model_dir is None:
        model_dir = active_model.registry_model_dir() or active_model.current_model_dir()
    model_dir = Path(model_dir)
    metrics = _read_metrics(model_dir / METRICS_FILE)
    training = metrics.get("training")
    return ModelCard(
        model_dir=model_dir, name=model_dir.name or str(model_dir),
        architecture=str(training.get("architecture") or "") if isinstance(training, dict) else "",
        full=evaluation_from(metrics),
        live=(evaluation_from(_read_metrics(model_dir / LIVE_METRICS_FILE))
              if active_model.has_live_variant(model_dir) else None),
    )
