"""django-filter filter sets of the emotions API.

Every value is validated before it reaches the database: a bad one is a 400 naming its parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from emotions.models import EMOTION_CHOICES, CaptureSession, Detection

# PostgreSQL accepts UTC offsets up to 15:59 (Python up to 23:59); real time zones stay within 14:00.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)


class DatabaseDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time that any database can compare: an offset within ±15:59, turned into UTC."""

    def to_python(self, value) -> datetime | None:
        result = super().to_python(value)
        if result is None:
            return None
        offset = result.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError("The UTC offset must be between -15:59 and +15:59.", code="invalid")
        try:
            return result.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the first representable instant
            raise forms.ValidationError("The date-time is out of range.", code="invalid") from None


class DatabaseDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = DatabaseDateTimeField


class SessionFilter(django_filters.FilterSet):
    started_after = DatabaseDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = DatabaseDateTimeFilter(field_name="started_at", lookup_expr="lte")
    ended = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull", exclude=True,
                                         label="true: finished sessions; false: sessions still running")
    model_label = django_filters.CharFilter()
    # The field's name until 2026-11-30: a client still filtering by it must not get every session back.
    model_version = django_filters.CharFilter(field_name="model_label", label="deprecated: the old name of model_label")

    class Meta:
        model = CaptureSession
        fields = ["started_after", "started_before", "ended", "model_label", "model_version"]


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
