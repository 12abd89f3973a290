"""Times in the reader's time zone (static/js/local-time.js) and durations as a clock reading."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

from emotions.clock import clock

register = template.Library()


@register.filter
def clock_ms(milliseconds: float | None) -> str:
    """An offset in milliseconds as m:ss."""
    return "" if milliseconds is None else clock(milliseconds / 1000)


@register.filter
def clock_seconds(seconds: float | None) -> str:
    return clock(seconds)


@register.simple_tag
def local_time(moment: datetime | None) -> str:
    """A <time> the browser rewrites in its own zone; without JavaScript it reads as UTC, labelled."""
    if moment is None:
        return ""
    utc = moment.astimezone(UTC) if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)
    return format_html('<time class="local-time" datetime="{}">{} UTC</time>',
                       utc.isoformat(timespec="seconds"), utc.strftime("%Y-%m-%d %H:%M"))
