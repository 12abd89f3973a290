"""django-filter filter sets of the model registry and job API."""

from __future__ import annotations

import django_filters

from training.models import ModelVersion, TrainingJob


class ModelVersionFilter(django_filters.FilterSet):
    class Meta:
        model = ModelVersion
        fields = ["architecture", "is_active"]


class TrainingJobFilter(django_filters.FilterSet):
    class Meta:
        model = TrainingJob
        fields = ["kind", "state"]
