"""The user's emotion mix per day."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from tests.factories import CaptureSessionFactory, DetectionFactory

pytestmark = pytest.mark.django_db

DAY1 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


@pytest.fixture
def history(user):
    for started, emotions in ((DAY1, ["happy", "happy", "sad"]), (DAY1 + timedelta(hours=2), ["angry"]),
                              (DAY2, ["neutral", "neutral"])):
        session = CaptureSessionFactory(user=user, started_at=started)
        for emotion in emotions:
            DetectionFactory(session=session, emotion=emotion)


def test_mix_per_day(alice_api, history):
    body = alice_api.get(reverse("api-stats")).json()
    assert body["count"] == 2
    first, second = body["results"]
    assert first["day"] == "2026-03-01" and first["sessions"] == 2 and first["detections"] == 4
    assert first["counts"]["happy"] == 2 and first["counts"]["angry"] == 1 and first["counts"]["neutral"] == 0
    assert first["shares"]["happy"] == pytest.approx(0.5)
    assert second["day"] == "2026-03-02" and second["shares"]["neutral"] == 1.0


def test_date_range_and_session_filters(alice_api, user, history):
    body = alice_api.get(reverse("api-stats"), {"date_from": "2026-03-02"}).json()
    assert [row["day"] for row in body["results"]] == ["2026-03-02"]
    body = alice_api.get(reverse("api-stats"), {"date_to": "2026-03-01"}).json()
    assert [row["day"] for row in body["results"]] == ["2026-03-01"]
    session = user.capture_sessions.get(started_at=DAY2)
    body = alice_api.get(reverse("api-stats"), {"session": session.pk}).json()
    assert [row["detections"] for row in body["results"]] == [2]
    assert alice_api.get(reverse("api-stats"), {"date_from": "March"}).status_code == 400


def test_no_detections_no_days(alice_api):
    assert alice_api.get(reverse("api-stats")).json() == {"count": 0, "next": None, "previous": None, "results": []}
