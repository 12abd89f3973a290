"""The process's one recognition pipeline, built from Django settings at first use.

Settings read (each optional, with a default):

* `EMOTION_MODEL_DIR`: a model artifact directory holding `model.tflite`, and optionally
  `model_live.tflite`, a cheaper variant that live sessions classify with
  (default `BASE_DIR / "models" / "shipped"`);
* `FACE_DETECTOR`: `"haar"` (default) or `"yunet"`;
* `YUNET_MODEL_PATH`: the YuNet `.onnx` file, needed when `FACE_DETECTOR` is `"yunet"`;
* `EMOTION_CLASSIFIER_THREADS`: LiteRT threads per invoke (default 1);
* `MAX_FRAME_BYTES`: the largest image accepted (default 2 MB);
* `MAX_FRAME_PIXELS`: the most pixels an image may have, read from its header before decoding.

`switch_model` swaps the classifier of the running pipeline atomically, for example when an admin
activates another model version: frames in flight finish with the model they started with.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from emotions.recognition import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    EmotionClassifier,
    FaceDetector,
    HaarFaceDetector,
    RecognitionPipeline,
    YuNetFaceDetector,
)

logger = logging.getLogger(__name__)

MODEL_FILE = "model.tflite"
# An ensemble's live variant: its networks without the mirror view (half the cost per face). Live
# sessions classify with it when the artifact directory has one: their answers are averaged over
# frames, which does what the mirror view does for a single image. See models/README.md.
LIVE_MODEL_FILE = "model_live.tflite"
DETECTORS = ("haar", "yunet")
_SETTINGS_READ = {
    "EMOTION_MODEL_DIR", "FACE_DETECTOR", "YUNET_MODEL_PATH", "EMOTION_CLASSIFIER_THREADS", "MAX_FRAME_BYTES",
    "MAX_FRAME_PIXELS",
}

_lock = threading.Lock()
_pipeline: RecognitionPipeline | None = None
_model_dir: Path | None = None


def configured_model_dir() -> Path:
    return Path(getattr(settings, "EMOTION_MODEL_DIR", Path(settings.BASE_DIR) / "models" / "shipped"))


def build_detector() -> FaceDetector:
    """The face detector named by `settings.FACE_DETECTOR`."""
    name = str(getattr(settings, "FACE_DETECTOR", "haar") or "haar").lower()
    if name == "haar":
        return HaarFaceDetector()
    if name == "yunet":
        model_path = getattr(settings, "YUNET_MODEL_PATH", "")
        if not model_path:
            raise ValueError('FACE_DETECTOR is "yunet" but YUNET_MODEL_PATH is not set')
        return YuNetFaceDetector(model_path)
    raise ValueError(f"unknown FACE_DETECTOR {name!r}; choose one of {', '.join(DETECTORS)}")


def build_classifier(model_dir: str | Path, file_name: str = MODEL_FILE) -> EmotionClassifier:
    """An `EmotionClassifier` for the `model.tflite` (or another `file_name`) of an artifact directory."""
    threads = int(getattr(settings, "EMOTION_CLASSIFIER_THREADS", 1))
    return EmotionClassifier(Path(model_dir) / file_name, num_threads=threads)


def build_live_classifier(model_dir: str | Path) -> EmotionClassifier | None:
    """The classifier of the directory's live variant, or None if it has none."""
    if not (Path(model_dir) / LIVE_MODEL_FILE).is_file():
        return None
    return build_classifier(model_dir, LIVE_MODEL_FILE)


def frame_max_pixels() -> int:
    return int(getattr(settings, "MAX_FRAME_PIXELS", DEFAULT_MAX_PIXELS))


def build_pipeline(
    model_dir: str | Path | None = None, *, max_bytes: int | None = None, max_pixels: int | None = None
) -> RecognitionPipeline:
    """A new, separate pipeline (for commands and tests); the service uses `get_pipeline()`.

    `max_bytes` and `max_pixels` limit an image; by default a live frame's limits,
    `settings.MAX_FRAME_BYTES` and `settings.MAX_FRAME_PIXELS`.
    """
    detector = build_detector()
    model_dir = model_dir or configured_model_dir()
    return RecognitionPipeline(
        detector,
        build_classifier(model_dir),
        live_classifier=build_live_classifier(model_dir),
        max_bytes=max_bytes or int(getattr(settings, "MAX_FRAME_BYTES", DEFAULT_MAX_BYTES)),
        max_pixels=max_pixels or frame_max_pixels(),
    )


def get_pipeline() -> RecognitionPipeline:
    """The process's pipeline, built at the first call (thread-safe).

    Its model is the active registered version's, if an admin activated one; else `EMOTION_MODEL_DIR`.
    """
    global _pipeline, _model_dir
    pipeline = _pipeline
    if pipeline is not None:
        return pipeline
    with _lock:
        if _pipeline is None:
            model_dir = registry_model_dir() or configured_model_dir()
            _pipeline = build_pipeline(model_dir)
            _model_dir = model_dir
        return _pipeline


def registry_model_dir() -> Path | None:
    """The model the registry says to use: the active version's directory (the configured one
    when the shipped version is active, or none is); None when the registry cannot be read (no
    database here yet, not migrated, or an async context)."""
    try:
        from training.selectors import get_active_model_version

        active = get_active_model_version()
    except Exception:
        return None
    if active is not None and not active.is_shipped and (Path(active.artifact_dir) / MODEL_FILE).is_file():
        return Path(active.artifact_dir)
    return configured_model_dir()


def follow_registry() -> None:
    """Switch to the registry's active version if it is not the model in use.

    An activation is broadcast to the processes that have a live session at that moment; any
    other server process catches up here (one query), at its next session start or prediction.
    """
    if _pipeline is None:  # the first get_pipeline() reads the registry anyway
        return
    wanted = registry_model_dir()
    if wanted is None or wanted.resolve() == current_model_dir().resolve():  # as current_model_label compares
        return
    try:
        switch_model(wanted)
    except Exception:  # keep classifying with the model we have
        logger.exception("could not switch to the active model %s", wanted)


def switch_model(model_dir: str | Path) -> None:
    """Classify with the model in `model_dir` from now on, in this process.

    The new model is loaded before the lock is taken, so frames keep flowing meanwhile, and a
    model that fails to load leaves the current one in place.
    """
    global _pipeline, _model_dir
    model_dir = Path(model_dir)
    classifier, live_classifier = build_classifier(model_dir), build_live_classifier(model_dir)
    with _lock:
        if _pipeline is None:
            _pipeline = RecognitionPipeline(
                build_detector(), classifier, live_classifier=live_classifier,
                max_bytes=int(getattr(settings, "MAX_FRAME_BYTES", DEFAULT_MAX_BYTES)), max_pixels=frame_max_pixels(),
            )
        else:
            _pipeline.swap_classifier(classifier, live_classifier=live_classifier)
        _model_dir = model_dir


def current_model_dir() -> Path:
    """The artifact directory of the model in use (or that will be loaded at first use)."""
    return _model_dir if _model_dir is not None else configured_model_dir()


def reset_pipeline() -> None:
    """Forget the pipeline; the next `get_pipeline()` builds a new one from the settings."""
    global _pipeline, _model_dir
    with _lock:
        _pipeline = None
        _model_dir = None


@receiver(setting_changed)
def _reset_on_setting_change(*, setting: str, **kwargs) -> None:
    """Tests that override a recognition setting get a pipeline built from the new value."""
    if setting in _SETTINGS_READ:
        reset_pipeline()
