"""Shapes of the model registry and training job API."""

from __future__ import annotations

from pathlib import Path

from rest_framework import serializers

from training import selectors
from training.core.labels import SPLITS
from training.core.options import JOB_OPTIONS, OptionSpec
from training.models import ModelVersion, TrainingJob
from training.services.jobs import TRAIN_OPTIONS

# config.json keys that are server paths or shell commands, not hyperparameters (at any depth:
# an ensemble's config lists its members' own).
PRIVATE_CONFIG_KEYS = {"data", "out", "dir", "command", "commands", "int8_calibration", "weights_chosen_on",
                       "init_from", "soft_labels", "teacher"}


def public_config(value):
    """`value` without the private keys, in nested dicts and lists too."""
    if isinstance(value, dict):
        return {k: public_config(v) for k, v in value.items() if k not in PRIVATE_CONFIG_KEYS}
    if isinstance(value, list):
        return [public_config(item) for item in value]
    return value


class ModelVersionSerializer(serializers.ModelSerializer):
    dataset = serializers.SerializerMethodField(help_text="file or folder name of the evaluation data set")
    accuracy = serializers.FloatField(read_only=True, allow_null=True)
    macro_f1 = serializers.FloatField(read_only=True, allow_null=True)
    per_class_f1 = serializers.DictField(child=serializers.FloatField(), read_only=True)
    confusion_matrix = serializers.SerializerMethodField(help_text="rows: true class, columns: predicted")
    labels = serializers.SerializerMethodField()
    training = serializers.SerializerMethodField(help_text="the training configuration (hyperparameters, seed)")

    class Meta:
        model = ModelVersion
        fields = ["id", "name", "architecture", "created_at", "dataset", "split", "is_active", "activated_at",
                  "accuracy", "macro_f1", "per_class_f1", "confusion_matrix", "labels", "training"]
        read_only_fields = fields

    def get_dataset(self, version: ModelVersion) -> str:
        return Path(version.dataset).name if version.dataset else ""

    def get_confusion_matrix(self, version: ModelVersion) -> list[list[int]]:
        return version.metrics.get("confusion_matrix") or []

    def get_labels(self, version: ModelVersion) -> list[str]:
        return version.metrics.get("labels") or []

    def get_training(self, version: ModelVersion) -> dict:
        return public_config(version.training_config)


class TrainingJobSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    images = serializers.SerializerMethodField(help_text="names of the plots the job wrote")

    class Meta:
        model = TrainingJob
        fields = ["id", "name", "kind", "state", "progress", "current_epoch", "total_epochs", "parameters",
                  "log_tail", "error", "metrics", "cancel_requested", "attempts", "created_at", "started_at",
                  "finished_at", "result_version", "source_version", "created_by", "images"]
        read_only_fields = fields

    def get_images(self, job: TrainingJob) -> list[str]:
        return selectors.job_images(job)


def option_field(spec: OptionSpec, **overrides) -> serializers.Field:
    """The serializer field of a training option: its type, bounds or choices and help, optional."""
    arguments = {"required": False, "help_text": spec.help, **overrides}
    if spec.choices:
        return serializers.ChoiceField(choices=spec.choices, **arguments)
    if spec.kind is bool:
        return serializers.BooleanField(**arguments)
    field = serializers.IntegerField if spec.kind is int else serializers.FloatField
    return field(min_value=spec.minimum, max_value=spec.maximum, **arguments)


TrainingOptionsSerializer = type("TrainingOptionsSerializer", (serializers.Serializer,), {
    "__doc__": "A retrain job's further settings: the options of training.services.jobs.TRAIN_OPTIONS.",
    **{name: option_field(spec) for name, spec in TRAIN_OPTIONS.items()},
})


class TrainingJobCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TrainingJob.Kind.choices)
    dataset = serializers.CharField(help_text="one of GET /api/jobs/datasets/")
    architecture = option_field(JOB_OPTIONS["architecture"],
                                help_text="retrain: the network to train (not with source_version)")
    epochs = option_field(JOB_OPTIONS["epochs"], help_text=f"retrain: {JOB_OPTIONS['epochs'].help}")
    name = serializers.SlugField(max_length=100, required=False, allow_blank=True,
                                 help_text="retrain: the new version's name (default: generated)")
    options = TrainingOptionsSerializer(required=False, help_text="retrain: further training settings")
    source_version = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.all(), required=False,
                                                        help_text="evaluate: the version to evaluate; retrain "
                                                                  "(optional): fine-tune this version's network")
    split = serializers.ChoiceField(choices=SPLITS, default="PrivateTest", help_text="evaluate")
    tta = serializers.BooleanField(default=False, help_text="evaluate: average with the mirrored face")

    def validate(self, attrs: dict) -> dict:
        if attrs["kind"] == TrainingJob.Kind.RETRAIN:
            if "source_version" in attrs and "architecture" in attrs:
                raise serializers.ValidationError({"architecture": "a fine-tuning job keeps its source "
                                                                   "version's architecture: leave it out"})
            needed = ("epochs",) if "source_version" in attrs else ("architecture", "epochs")
            missing = [key for key in needed if key not in attrs]
        else:
            missing = [key for key in ("source_version",) if key not in attrs]
        if missing:
            raise serializers.ValidationError({key: f"required for a {attrs['kind']} job" for key in missing})
        return attrs


class DatasetSerializer(serializers.Serializer):
    path = serializers.CharField()
    name = serializers.CharField()
