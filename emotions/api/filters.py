"""django-filter filter sets of the emotions API."""

from __future__ import annotations

import django_filters

from emotions.models import EMOTION_CHOICES, CaptureSession, Detection


class SessionFilter(django_filters.FilterSet):
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lte")
    ended = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull", exclude=True,
                                         label="true: finished sessions; false: sessions still running")
    model_version = django_filters.CharFilter()

    class Meta:
        model = CaptureSession
        fields = ["started_after", "started_before", "ended", "model_version"]


class DetectionFilter(django_filters.FilterSet):
    emotion = django_filters.ChoiceFilter(choices=EMOTION_CHOICES)
    offset_ms_min = django_filters.NumberFilter(field_name="offset_ms", lookup_expr="gte",
                                                label="from this many milliseconds into the session")
    offset_ms_max = django_filters.NumberFilter(field_name="offset_ms", lookup_expr="lte",
                                                label="up to this many milliseconds into the session")

    class Meta:
        model = Detection
        fields = ["emotion", "offset_ms_min", "offset_ms_max"]


class StatsFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(field_name="session__started_at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="session__started_at", lookup_expr="date__lte")
    session = django_filters.NumberFilter(field_name="session_id")

    class Meta:
        model = Detection
        fields = ["date_from", "date_to", "session"]
