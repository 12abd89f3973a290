"""Reads of the model registry, the training jobs and the data sets an admin may train on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
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


@dataclass(frozen=True)
class MetricsBasis:
    """What a version's figures were measured on: two accuracies compare only on the same basis
    (18 % of 100 faces says little beside 70 % of 3,589)."""

    split: str
    n: int | None

    def __str__(self) -> str:
        size = f"n={self.n:,}" if self.n is not None else "n unknown"
        return f"{self.split or 'all rows'}, {size}"


def metrics_basis(version: ModelVersion) -> MetricsBasis:
    return MetricsBasis(split=version.split or str(version.metrics.get("split") or ""), n=version.n)


@dataclass(frozen=True)
class VersionComparison:
    """How the registered versions' figures compare: the basis they are read against (the active
    version's, else the most common one) and how many different bases there are."""

    reference: MetricsBasis | None
    bases: int
    from_active: bool

    def comparable(self, version: ModelVersion) -> bool:
        return self.reference is None or metrics_basis(version) == self.reference


def version_comparison() -> VersionComparison:
    versions = [version for version in model_versions().only("split", "metrics", "is_active")
                if version.accuracy is not None]
    counts = Counter(metrics_basis(version) for version in versions)
    active = next((version for version in versions if version.is_active), None)
    most_common = counts.most_common(1)[0][0] if counts else None
    reference = metrics_basis(active) if active is not None else most_common
    return VersionComparison(reference=reference, bases=len(counts), from_active=active is not None)


def activation_downgrade(version: ModelVersion) -> ModelVersion | None:
    """The active version, when `version` scores below it on the same split and size: activating
    `version` would then lose accuracy, and the admin asks first. None otherwise (better, equal,
    or not comparable)."""
    active = active_model_version()
    if active is None or active.pk == version.pk or version.accuracy is None or active.accuracy is None:
        return None
    if metrics_basis(version) != metrics_basis(active):
        return None
    return active if version.accuracy < active.accuracy else None


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
