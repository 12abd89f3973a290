"""The model registry (trained model versions, one of them active) and the jobs that train or evaluate them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

SHIPPED_NAME = "shipped"


class ModelVersion(models.Model):
    """One trained model: an artifact directory (model.tflite, metrics.json, ...) and what it scored."""

    name = models.CharField(max_length=100, unique=True, help_text="the label sessions record")
    architecture = models.CharField(max_length=50, blank=True)
    artifact_dir = models.CharField(max_length=500, help_text="directory holding model.tflite")
    created_at = models.DateTimeField(default=timezone.now)
    dataset = models.CharField(max_length=500, blank=True, help_text="data set the metrics were measured on")
    split = models.CharField(max_length=20, blank=True, help_text="split the metrics were measured on")
    training_config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="accuracy, per-class F1, confusion matrix")
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("activate_modelversion", "Can activate a model version (live recognition uses it)")]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="training_one_active_model_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}{' (active)' if self.is_active else ''}"

    @property
    def is_shipped(self) -> bool:
        """The model of settings.EMOTION_MODEL_DIR, registered at migrate: that setting stays authoritative."""
        return self.name == SHIPPED_NAME

    @property
    def accuracy(self) -> float | None:
        return self.metrics.get("accuracy")

    @property
    def macro_f1(self) -> float | None:
        return self.metrics.get("macro_f1")

    @property
    def n(self) -> int | None:
        """How many faces the metrics were measured on."""
        return self.metrics.get("n")

    @property
    def per_class_f1(self) -> dict[str, float]:
        return {name: row.get("f1", 0.0) for name, row in (self.metrics.get("per_class") or {}).items()}


class TrainingJob(models.Model):
    """A retraining or evaluation run that a Celery worker executes; its row is its progress report."""

    class Kind(models.TextChoices):
        RETRAIN = "retrain", "Retrain"
        EVALUATE = "evaluate", "Evaluate"

    class State(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"
        CANCELLED = "CANCELLED", "Cancelled"

    FINISHED_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED)

    name = models.SlugField(
        max_length=100, unique=True,
        help_text="names the job and its output folder; a retrain job's new version is named after it too",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    parameters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    current_epoch = models.PositiveIntegerField(default=0)
    total_epochs = models.PositiveIntegerField(default=0)
    log_tail = models.TextField(blank=True)
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="an evaluation's metrics")
    output_dir = models.CharField(max_length=500, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # Each dispatch of the job to the broker gets a number; a message with an older number is stale.
    dispatch = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True, help_text="Celery node running the job")
    worker_pid = models.PositiveIntegerField(null=True, blank=True, help_text="its process running the job")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    result_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="produced_by"
    )
    source_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "-created_at"], name="training_job_state_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="training_job_progress_le_100"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES
