"""The process's model: one recognition pipeline, built at first use, following the registry.

This module owns everything about the model a server process classifies with: building the
pipeline from the settings, reading which version the registry says is active, switching to it
(when an admin activates a version, or when this process notices another did), and naming it.

Settings read (each optional, with a default):

* `EMOTION_MODEL_DIR`: a model artifact directory holding `model.tflite`, and optionally
  `model_live.tflite`, a cheaper variant that live sessions classify with
  (default `BASE_DIR / "models" / "shipped"`);
* `FACE_DETECTOR`: `"haar"` (default) or `"yunet"`;
* `YUNET_MODEL_PATH`: the YuNet `.onnx` file, needed when `FACE_DETECTOR` is `"yunet"`;
* `EMOTION_CLASSIFIER_THREADS`: LiteRT threads per invoke (default 1);
* `MAX_FRAME_BYTES`: the largest image accepted (default 2 MB);
* `MAX_FRAME_PIXELS`: the most pixels an image may have, read from its header before decoding.

A switch swaps the classifiers of the running pipeline atomically: frames in flight finish with
the model they started with.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from emotions.models import CaptureSession
from emotions.recognition import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    EmotionClassifier,
    FaceDetector,
    HaarFaceDetector,
    RecognitionPipeline,
    StreamTracker,
    YuNetFaceDetector,
)
from training.core.artifacts import LIVE_MODEL_FILE, MODEL_FILE, has_live_variant

if TYPE_CHECKING:
    from training.models import ModelVersion

logger = logging.getLogger(__name__)

# An ensemble's live variant (LIVE_MODEL_FILE) is its networks without the mirror view (half the
# cost per face). Live sessions classify with it when the artifact directory has one (named in its
# config.json's "live_variant"): their answers are averaged over frames, which does what the mirror
# view does for a single image. See models/README.md.
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


def same_dir(first: str | Path, second: str | Path) -> bool:
    """Whether two artifact paths name the same directory (the one way paths are compared here)."""
    return Path(first).resolve() == Path(second).resolve()


# Building ---------------------------------------------------------------------------------------

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
    if not has_live_variant(model_dir):
        return None
    return build_classifier(model_dir, LIVE_MODEL_FILE)


def frame_max_pixels() -> int:
    return int(getattr(settings, "MAX_FRAME_PIXELS", DEFAULT_MAX_PIXELS))


def build_pipeline(
    model_dir: str | Path | None = None, *, max_bytes: int | None = None, max_pixels: int | None = None
) -> RecognitionPipeline:
    """A new, separate pipeline (for commands and tests); the server uses `get_pipeline()`.

    `max_bytes` and `max_pixels` limit an image; by default a live frame's limits,
    `settings.MAX_FRAME_BYTES` and `settings.MAX_FRAME_PIXELS`.
    """
    model_dir = model_dir or configured_model_dir()
    return RecognitionPipeline(
        build_detector(),
        build_classifier(model_dir),
        live_classifier=build_live_classifier(model_dir),
        max_bytes=max_bytes or int(getattr(settings, "MAX_FRAME_BYTES", DEFAULT_MAX_BYTES)),
        max_pixels=max_pixels or frame_max_pixels(),
    )


# The process's pipeline -------------------------------------------------------------------------

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


def open_live_stream() -> StreamTracker:
    """Per-connection tracking state on the process's pipeline: face tracks smoothed as the settings
    say, classified with the live variant (loads the model at first use)."""
    return get_pipeline().new_stream(
        live=True, smoothing_frames=settings.TRACK_SMOOTHING_FRAMES, grace_frames=settings.TRACK_GRACE_FRAMES
    )


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


# Following the registry -------------------------------------------------------------------------

class RegistryUnavailable(Exception):
    """The registry cannot be read here: no database yet, not migrated, or an async context."""


def active_version() -> ModelVersion | None:
    """The registry's active version, or None (the one place it is read here)."""
    try:
        from training.selectors import active_model_version

        return active_model_version()
    except Exception as error:
        raise RegistryUnavailable(str(error)) from error


def registry_model_dir() -> Path | None:
    """The model the registry says to use: the active version's directory (the configured one
    when the shipped version is active, or none is); None when the registry cannot be read."""
    try:
        active = active_version()
    except RegistryUnavailable:
        return None
    if active is not None and not active.is_shipped and (Path(active.artifact_dir) / MODEL_FILE).is_file():
        return Path(active.artifact_dir)
    return configured_model_dir()


_switch_lock = threading.Lock()  # one switch at a time: a model is loaded once however many ask for it


def switch_model(model_dir: str | Path) -> bool:
    """Classify with the model in `model_dir` from now on, in this process; returns whether the
    model changed (idempotent: every consumer of a process receives the same broadcast).

    The new model is loaded outside the pipeline's lock, so frames keep flowing meanwhile, and a
    model that fails to load leaves the current one in place.
    """
    with _switch_lock:
        return _switch_holding_lock(Path(model_dir))


def _switch_holding_lock(model_dir: Path) -> bool:
    """`switch_model`'s work; the caller holds `_switch_lock`."""
    global _pipeline, _model_dir
    if _pipeline is not None and same_dir(current_model_dir(), model_dir):
        return False
    loaded = build_pipeline(model_dir)
    with _lock:
        if _pipeline is None:
            _pipeline = loaded
        else:
            _pipeline.swap_classifier(loaded.classifier, live_classifier=loaded.live_classifier)
        _model_dir = model_dir
    return True


def follow_registry() -> None:
    """Switch to the registry's active version if it is not the model in use.

    An activation is broadcast to the processes that have a live session at that moment; any
    other server process catches up here (one query), at its next session start or prediction.
    """
    if _pipeline is None:  # the first get_pipeline() reads the registry anyway
        return
    # Read and switch under the switch lock: a reader that saw the registry just before an
    # activation committed cannot switch back after the activation's own switch has run.
    with _switch_lock:
        wanted = registry_model_dir()
        if wanted is None:
            return
        try:
            _switch_holding_lock(wanted)
        except Exception:  # keep classifying with the model we have
            logger.exception("could not switch to the active model %s", wanted)


def current_model_label() -> str:
    """The label of the model that classifies now, stored on each session: the name of the
    registry's active version when that is the model in use, else its directory's name."""
    label_max = CaptureSession._meta.get_field("model_label").max_length
    model_dir = current_model_dir()
    try:
        active = active_version()
    except RegistryUnavailable:  # e.g. on the event loop: name the directory
        active = None
    if active is not None and same_dir(active.artifact_dir, model_dir):
        return active.name[:label_max]
    return (model_dir.name or str(model_dir))[:label_max]


def follow_and_name() -> str:
    """`follow_registry`, then the label of the model in use."""
    follow_registry()
    return current_model_label()
