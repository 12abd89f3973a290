"""The history page's filters (a GET form): a date range of the sessions' start and their dominant emotion."""

from __future__ import annotations

import django_filters
from django import forms

from emotions.models import EMOTION_CHOICES, CaptureSession


class HistoryFilter(django_filters.FilterSet):
    """Filters `selectors.user_sessions` (which annotates `dominant_emotion`)."""

    date_from = django_filters.DateFilter(field_name="started_at", lookup_expr="date__gte", label="From",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(field_name="started_at", lookup_expr="date__lte", label="To",
                                        widget=forms.DateInput(attrs={"type": "date"}))
    emotion = django_filters.ChoiceFilter(field_name="dominant_emotion", choices=EMOTION_CHOICES,
                                          label="Dominant emotion", empty_label="Any")

    class Meta:
        model = CaptureSession
        fields = ["date_from", "date_to", "emotion"]
