"""Sessions, their detections (filtered by emotion and time) and their summaries, through the API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from emotions.models import CaptureSession, Detection
from tests.factories import CaptureSessionFactory, DetectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(user):
    started = timezone.now() - timedelta(minutes=5)
    session = CaptureSessionFactory(user=user, started_at=started, ended_at=started + timedelta(seconds=90),
                                    frames_received=10, frames_processed=9, frames_dropped=1)
    for offset, emotion in ((0, "happy"), (500, "happy"), (1000, "sad"), (1500, "happy"), (2000, "neutral")):
        DetectionFactory(session=session, offset_ms=offset, emotion=emotion)
    return session


def test_list_is_paginated_and_newest_first(alice_api, user, session):
    newer = CaptureSessionFactory(user=user)
    body = alice_api.get(reverse("api-session-list")).json()
    assert body["count"] == 2 and "next" in body
    assert [row["id"] for row in body["results"]] == [newer.pk, session.pk]
    assert body["results"][1]["detection_count"] == 5
    assert body["results"][1]["duration_seconds"] == 90.0


def test_list_filters(alice_api, user, session):
    running = CaptureSessionFactory(user=user, model_label="fernet-v2")
    url = reverse("api-session-list")
    assert [r["id"] for r in alice_api.get(url, {"ended": "false"}).json()["results"]] == [running.pk]
    assert [r["id"] for r in alice_api.get(url, {"ended": "true"}).json()["results"]] == [session.pk]
    assert [r["id"] for r in alice_api.get(url, {"model_label": "fernet-v2"}).json()["results"]] == [running.pk]
    assert [r["id"] for r in alice_api.get(url, {"model_version": "fernet-v2"}).json()["results"]] == [running.pk]
    after = (session.started_at + timedelta(minutes=1)).isoformat()
    assert [r["id"] for r in alice_api.get(url, {"started_after": after}).json()["results"]] == [running.pk]
    assert alice_api.get(url, {"started_after": "yesterday-ish"}).status_code == 400


def test_delete_removes_the_session_and_its_detections(alice_api, session):
    assert alice_api.delete(reverse("api-session-detail", args=[session.pk])).status_code == 204
    assert not CaptureSession.objects.filter(pk=session.pk).exists()
    assert not Detection.objects.filter(session_id=session.pk).exists()


def test_detections_in_time_order_with_box_track_and_scores(alice_api, session):
    Detection.objects.filter(session=session, offset_ms=0).update(track=2)
    body = alice_api.get(reverse("api-session-detections", args=[session.pk])).json()
    assert body["count"] == 5
    first, second = body["results"][:2]
    assert first["offset_ms"] == 0 and first["box"] == [10, 20, 100, 100] and first["emotion"] == "happy"
    assert (first["track"], second["track"]) == (2, None)  # none in sessions stored before tracking
    assert set(first["scores"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}


@pytest.mark.parametrize(("query", "offsets"), [
    ({"emotion": "happy"}, [0, 500, 1500]),
    ({"offset_ms_min": 500, "offset_ms_max": 1500}, [500, 1000, 1500]),
    ({"emotion": "happy", "offset_ms_min": 400}, [500, 1500]),
    ({"emotion": "angry"}, []),
])
def test_detection_filters(alice_api, session, query, offsets):
    body = alice_api.get(reverse("api-session-detections", args=[session.pk]), query).json()
    assert [row["offset_ms"] for row in body["results"]] == offsets


def test_detection_filter_rejects_an_unknown_emotion(alice_api, session):
    response = alice_api.get(reverse("api-session-detections", args=[session.pk]), {"emotion": "bored"})
    assert response.status_code == 400 and "emotion" in response.json()


def test_detections_are_paginated(alice_api, session):
    body = alice_api.get(reverse("api-session-detections", args=[session.pk]), {"page": 1}).json()
    assert body["previous"] is None and body["next"] is None
    assert alice_api.get(reverse("api-session-detections", args=[session.pk]), {"page": 9}).status_code == 404


def test_summary(alice_api, session):
    body = alice_api.get(reverse("api-session-summary", args=[session.pk])).json()
    assert body["session"] == session.pk and body["detections"] == 5 and body["frames_with_faces"] == 5
    assert body["dominant_emotion"] == "happy"
    assert body["counts"] == {"angry": 0, "disgust": 0, "fear": 0, "happy": 3, "sad": 1, "surprise": 0, "neutral": 1}
    assert body["shares"]["happy"] == pytest.approx(0.6)
    assert body["mean_scores"]["happy"] == pytest.approx(0.7)
    assert body["frames_dropped"] == 1 and body["duration_seconds"] == 90.0


def test_summary_of_a_session_without_faces(alice_api, user):
    empty = CaptureSessionFactory(user=user)
    body = alice_api.get(reverse("api-session-summary", args=[empty.pk])).json()
    assert body["detections"] == 0 and body["dominant_emotion"] is None
    assert body["shares"]["happy"] == 0.0 and body["mean_scores"]["sad"] == 0.0
