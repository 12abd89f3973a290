"""The model registry: registering model versions from artifact directories, activating one, and
announcing the activation (signal `model_activated`) so that live recognition switches to it."""

from __future__ import annotations

import json
import logging
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from training.core.artifacts import CONFIG_FILE, METRICS_FILE, MODEL_FILE, served_model_files
from training.core.calibration import model_temperature
from training.core.labels import LabelMismatchError, check_model_labels
from training.models import SHIPPED_NAME, ModelVersion
from training.signals import model_activated

logger = logging.getLogger(__name__)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def read_artifact_info(model_dir: str | Path) -> dict[str, Any]:
    """Architecture, data set, split, training config and metrics from an artifact directory's JSON files."""
    model_dir = Path(model_dir)
    config = _read_json(model_dir / CONFIG_FILE)
    metrics = _read_json(model_dir / METRICS_FILE)
    metrics.pop("training", None)  # a copy of config.json
    return {
        "architecture": str(config.get("architecture", "")),
        "dataset": str(metrics.get("data") or config.get("data") or ""),
        "split": str(metrics.get("split") or config.get("test_split") or ""),
        "training_config": config,
        "metrics": metrics,
    }


def _check_servable(artifact_dir: Path, refused: str) -> None:
    """Refuse (ValidationError) a directory live recognition could not serve: no model.tflite, a
    model whose class labels are not ours, or a calibration temperature it could not apply."""
    if not (artifact_dir / MODEL_FILE).is_file():
        raise ValidationError(f"{refused}: {artifact_dir} has no {MODEL_FILE}")
    try:
        check_model_labels(artifact_dir)
        for model_file in served_model_files(artifact_dir):
            model_temperature(artifact_dir / model_file)
    except LabelMismatchError as error:
        raise ValidationError(f"{refused}: {error}") from None
    except (TypeError, ValueError) as error:
        raise ValidationError(f"{refused}: {error}") from None


def register_model_version(*, name: str, artifact_dir: str | Path) -> ModelVersion:
    """Create (or refresh) the version called `name` from the artifacts in `artifact_dir`; never activates."""
    artifact_dir = Path(artifact_dir)
    _check_servable(artifact_dir, f"{name} cannot be registered")
    version, _ = ModelVersion.objects.update_or_create(
        name=name, defaults={"artifact_dir": str(artifact_dir), **read_artifact_info(artifact_dir)}
    )
    return version


def register_shipped_model() -> ModelVersion | None:
    """Register settings.EMOTION_MODEL_DIR as version "shipped"; active when no other version is.

    Idempotent (runs after every `migrate`); does nothing while the directory holds no model yet.
    """
    model_dir = Path(settings.EMOTION_MODEL_DIR)
    if not (model_dir / MODEL_FILE).is_file():
        logger.info("No shipped model at %s yet: nothing registered", model_dir)
        return None
    with transaction.atomic():
        version = register_model_version(name=SHIPPED_NAME, artifact_dir=model_dir)
        if not ModelVersion.objects.select_for_update().filter(is_active=True).exists():
            # At migrate time no process serves recognition from the registry yet: no broadcast needed.
            ModelVersion.objects.filter(pk=version.pk).update(is_active=True, activated_at=timezone.now())
            version.refresh_from_db()
    return version


def activate_model_version(version: ModelVersion) -> ModelVersion:
    """Make `version` the one active version; after the commit every live consumer switches to it."""
    _check_servable(Path(version.artifact_dir), f"{version.name} cannot be activated")
    with transaction.atomic():
        # Lock the current active row and the target, so two activations serialise.
        list(ModelVersion.objects.select_for_update().filter(Q(is_active=True) | Q(pk=version.pk)))
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True, activated_at=timezone.now())
        version.refresh_from_db()
        transaction.on_commit(partial(announce_model_activated, version))
    logger.info("Activated model version %s (%s)", version.name, version.artifact_dir)
    return version


def announce_model_activated(version: ModelVersion) -> None:
    """Announce the activation (signal `model_activated`): the emotions app switches this process
    and tells every live session, in any process, over the channel layer."""
    for receiver, result in model_activated.send_robust(
        sender=ModelVersion, version=version, model_dir=str(version.artifact_dir), label=version.name
    ):
        if isinstance(result, Exception):  # the activation is committed; a receiver must not undo it
            logger.error("model_activated receiver %r failed: %s", receiver, result)


def register_shipped_model_after_migrate(sender, app_config=None, **kwargs) -> None:
    """post_migrate receiver: register settings.EMOTION_MODEL_DIR as a version (idempotent)."""
    if app_config is None or app_config.label != "training":
        return
    register_shipped_model()
