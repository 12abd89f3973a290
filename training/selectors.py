"""Reads of the model registry, the training jobs and the data sets an admin may train on."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from training.core.labels import EMOTIONS
from training.models import ModelVersion, TrainingJob

DATASET_SUFFIXES = {".npz", ".csv"}
SPLIT_FOLDER_NAMES = {"train", "training", "val", "publictest", "test", "privatetest"}
# Files a job may expose to staff (written by training.core.evaluate.write_evaluation).
JOB_IMAGES = ("metrics_confusion.png", "metrics_curves.png")


def active_model_version() -> ModelVersion | None:
    """The version live recognition uses, or None when nothing is registered."""
    return ModelVersion.objects.filter(is_active=True).first()


def model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.all()


def training_jobs() -> QuerySet[TrainingJob]:
    return TrainingJob.objects.select_related("result_version", "source_version", "created_by")


def training_job(job_id: int) -> TrainingJob | None:
    return training_jobs().filter(pk=job_id).first()


def _looks_like_image_folder(folder: Path) -> bool:
    """`<folder>/<split>/<emotion>/` or `<folder>/<emotion>/` (the layouts training.core.data reads)."""
    children = {child.name.lower() for child in folder.iterdir() if child.is_dir()}
    return bool(children & SPLIT_FOLDER_NAMES) or (bool(children) and children <= set(EMOTIONS))


def _is_dataset(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() in DATASET_SUFFIXES
    return path.is_dir() and not path.name.startswith(".") and _looks_like_image_folder(path)


def available_datasets() -> list[Path]:
    """Data sets found in settings.TRAINING_DATA_ROOTS: .npz/.csv files and image folders (one level deep)."""
    found: list[Path] = []
    for root in getattr(settings, "TRAINING_DATA_ROOTS", []):
        root = Path(root)
        if root.is_file() and root.suffix.lower() in DATASET_SUFFIXES:
            found.append(root)
            continue
        if not root.is_dir():
            continue
        if _looks_like_image_folder(root):
            found.append(root)
        found.extend(child for child in sorted(root.iterdir()) if _is_dataset(child))
    return list(dict.fromkeys(path.resolve() for path in found))


def job_image_path(job: TrainingJob, name: str) -> Path | None:
    """A plot written by a finished job, or None (unknown name, no output, or not written)."""
    if name not in JOB_IMAGES or not job.output_dir:
        return None
    path = Path(job.output_dir) / name
    return path if path.is_file() else None


def job_images(job: TrainingJob) -> list[str]:
    return [name for name in JOB_IMAGES if job_image_path(job, name) is not None]
