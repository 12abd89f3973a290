"""Durations and offsets as a clock reading; times as <time> elements the browser puts in its zone."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.urls import reverse

from emotions.clock import clock
from emotions.templatetags.clock import clock_ms, local_time
from tests.factories import CaptureSessionFactory, DetectionFactory


@pytest.mark.parametrize(("seconds", "text"), [
    (None, ""), (0, "0:00"), (2.672, "0:03"), (59.6, "1:00"), (75, "1:15"), (3599.4, "59:59"), (3725, "1:02:05"),
])
def test_clock(seconds, text):
    assert clock(seconds) == text


def test_offsets_in_milliseconds():
    assert clock_ms(2672) == "0:03" and clock_ms(140_000) == "2:20" and clock_ms(None) == ""


def test_local_time_is_an_iso_utc_time_element():
    moment = datetime(2026, 11, 30, 8, 5, 9, tzinfo=timezone(timedelta(hours=1)))
    assert local_time(moment) == ('<time class="local-time" datetime="2026-11-30T07:05:09+00:00">'
                                  "2026-11-30 07:05 UTC</time>")
    assert local_time(None) == ""


@pytest.mark.django_db
def test_session_page_shows_offsets_as_clock_and_the_start_as_a_time_element(user_client, user):
    started = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    session = CaptureSessionFactory(user=user, started_at=started, ended_at=started + timedelta(seconds=3725))
    DetectionFactory(session=session, offset_ms=140_000)
    html = user_client.get(reverse("history-detail", args=[session.pk])).content.decode()
    assert '<time class="local-time" datetime="2026-11-30T06:00:00+00:00">' in html
    assert ">2:20<" in html and " ms<" not in html
    assert ">1:02:05<" in html
    assert "/static/js/local-time.js" in html
    history = user_client.get(reverse("history")).content.decode()
    assert 'datetime="2026-11-30T06:00:00+00:00"' in history and ">1:02:05<" in history
