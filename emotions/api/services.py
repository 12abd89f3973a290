"""Computations behind the REST API: predicting on one uploaded image (writes on sessions: `emotions.data_services`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from emotions import active_model
from emotions.services import faces_largest_first


def predict_max_bytes() -> int:
    return settings.PREDICT_MAX_BYTES


def predict_max_pixels() -> int:
    return settings.PREDICT_MAX_PIXELS


def predict_faces(image_bytes: bytes) -> list[dict[str, Any]]:
    """Faces with emotions in one JPEG/PNG, largest first; InvalidImageError for unusable bytes.

    Uses the process's pipeline (the active model) but the API's own byte and pixel limits, which
    are larger than a live frame's: clients upload photos, not webcam frames.
    """
    pipeline = active_model.get_pipeline()
    active_model.follow_registry()  # in case another process activated a version meanwhile
    return faces_largest_first(pipeline.process(
        image_bytes, max_bytes=predict_max_bytes(), max_pixels=predict_max_pixels()
    ))
