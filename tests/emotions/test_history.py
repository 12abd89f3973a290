"""History pages, exports and the selectors behind them."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from emotions import selectors
from tests.factories import CaptureSessionFactory, DetectionFactory
from training.core.labels import EMOTIONS

pytestmark = pytest.mark.django_db


def scores_for(emotion: str, top: float = 0.7) -> dict[str, float]:
    rest = (1 - top) / (len(EMOTIONS) - 1)
    return {name: (top if name == emotion else rest) for name in EMOTIONS}


def make_session(user, emotions: list[str], *, started_at=None, seconds: float = 10.0, faces_per_frame: int = 1,
                 tracks: list[int | None] | None = None):
    """A finished session with one frame per listed emotion, spread over `seconds`; face i of each
    frame has track `tracks[i]` (default: none, as stored before live tracking)."""
    started_at = started_at or timezone.now() - timedelta(minutes=5)
    session = CaptureSessionFactory(
        user=user, started_at=started_at, ended_at=started_at + timedelta(seconds=seconds),
        frames_received=len(emotions), frames_processed=len(emotions),
    )
    for frame, emotion in enumerate(emotions):
        for face in range(faces_per_frame):
            DetectionFactory(
                session=session, frame_index=frame, face_index=face, emotion=emotion,
                track=tracks[face] if tracks else None,
                offset_ms=round(frame * seconds * 1000 / max(1, len(emotions))), **scores_for(emotion),
            )
    return session


def downloaded(response) -> str:
    """The text of a streamed download."""
    assert response.streaming
    return response.getvalue().decode()


def json_script(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no #{element_id} data in the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize("name", ["live", "history"])
def test_pages_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", ["history-detail", "history-export-csv", "history-export-json"])
def test_session_pages_need_a_login(client, user, name):
    session = make_session(user, ["happy"])
    response = client.get(reverse(name, args=[session.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_live_page_has_the_controls_and_the_client(user_client):
    html = user_client.get(reverse("live")).content.decode()
    for element in ('id="start"', 'id="stop"', 'id="video"', 'id="overlay"', 'id="faces"', 'id="status"', 'id="fps"'):
        assert element in html
    assert 'data-ws-path="/ws/live/"' in html
    assert "/static/js/live.js" in html
    for emotion in EMOTIONS:
        assert f'data-emotion="{emotion}"' in html


def test_history_lists_own_sessions_with_counts_and_dominant_emotion(user_client, user, other_user):
    mine = make_session(user, ["sad", "happy", "happy", "neutral"], seconds=75)
    make_session(other_user, ["angry"])
    response = user_client.get(reverse("history"))
    html = response.content.decode()

    assert response.status_code == 200
    (row,) = response.context["page"].object_list
    assert row.pk == mine.pk
    assert (row.face_count, row.dominant_emotion) == (4, "happy")
    assert f'data-session="{mine.pk}"' in html
    assert reverse("history-detail", args=[mine.pk]) in html
    assert ">1:15<" in html
    assert '<span class="pill happy">Happy</span>' in html


def test_history_is_paginated(user_client, user):
    for _ in range(25):
        CaptureSessionFactory(user=user)
    first = user_client.get(reverse("history"))
    second = user_client.get(reverse("history"), {"page": 2})
    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 5
    assert "Page 2 of 2" in second.content.decode()
    assert 'href="?page=2"' in first.content.decode()


def test_history_without_sessions_invites_to_start_one(user_client):
    html = user_client.get(reverse("history")).content.decode()
    assert "No sessions yet" in html
    assert reverse("live") in html


def test_history_overview_shows_the_emotion_mix_per_day(user_client, user, other_user):
    now = timezone.now()
    make_session(user, ["happy", "happy", "sad"], started_at=now - timedelta(days=2))
    make_session(user, ["angry"], started_at=now - timedelta(hours=1))
    make_session(other_user, ["fear"] * 5, started_at=now - timedelta(hours=1))
    make_session(user, ["surprise"], started_at=now - timedelta(days=90))  # older than the overview
    html = user_client.get(reverse("history")).content.decode()

    days = json_script(html, "daily-mix")
    expected_days = [timezone.localdate(now - delta).isoformat() for delta in (timedelta(days=2), timedelta(hours=1))]
    assert [day["day"] for day in days] == expected_days
    assert days[0]["counts"] == dict.fromkeys(EMOTIONS, 0) | {"happy": 2, "sad": 1}
    assert days[0]["detections"] == 3 and days[0]["sessions"] == 1
    assert days[0]["shares"]["happy"] == pytest.approx(2 / 3)
    assert days[1]["counts"]["angry"] == 1 and days[1]["counts"]["fear"] == 0
    assert 'id="daily-chart"' in html
    assert "/static/vendor/chart.js/chart.umd.min.js" in html


def test_session_detail_has_timeline_distribution_and_detections(user_client, user):
    session = make_session(user, ["happy", "sad", "happy"], faces_per_frame=2)
    response = user_client.get(reverse("history-detail", args=[session.pk]))
    html = response.content.decode()

    assert response.status_code == 200
    timeline = json_script(html, "timeline-data")
    assert len(timeline["seconds"]) == 3  # the main face only: one point per frame
    assert timeline["seconds"] == sorted(timeline["seconds"])
    assert timeline["series"]["happy"] == pytest.approx([0.7, 0.05, 0.7])
    assert list(timeline["series"]) == list(EMOTIONS)
    assert json_script(html, "distribution-data") == dict.fromkeys(EMOTIONS, 0) | {"happy": 4, "sad": 2}
    assert 'id="timeline-chart"' in html and 'id="distribution-chart"' in html
    assert html.count("<tr>") == 1 + 6  # header and one row per detection
    assert reverse("history-export-csv", args=[session.pk]) in html
    assert reverse("history-export-json", args=[session.pk]) in html


def test_session_detail_charts_each_tracked_face(user_client, user):
    session = make_session(user, ["happy", "sad", "happy", "fear"], faces_per_frame=2, tracks=[3, 1])
    DetectionFactory(session=session, frame_index=4, face_index=0, track=5, offset_ms=9000, **scores_for("angry"))
    html = user_client.get(reverse("history-detail", args=[session.pk])).content.decode()

    assert 'id="timeline-data"' not in html and 'id="timeline-chart"' not in html
    assert re.findall(r'<canvas id="timeline-chart-(\d+)"', html) == ["1", "3", "5"]
    assert [title.split("<")[0].strip() for title in re.findall(r'class="track-title">(.*?)</h3>', html)] == [
        "Face 1", "Face 3", "Face 5"]
    first, fifth = json_script(html, "timeline-data-1"), json_script(html, "timeline-data-5")
    assert (first["track"], first["detections"], len(first["seconds"])) == (1, 4, 4)
    assert first["series"]["sad"] == pytest.approx([0.05, 0.7, 0.05, 0.05])
    assert (fifth["seconds"], fifth["series"]["angry"]) == ([9.0], [pytest.approx(0.7)])


def test_track_timelines_keep_the_faces_seen_longest(user):
    session = make_session(user, ["happy"] * 3, faces_per_frame=3, tracks=[1, 2, 3])
    DetectionFactory(session=session, frame_index=9, face_index=0, track=4)
    timelines = selectors.session_track_timelines(session=session, max_tracks=3)
    assert [timeline["track"] for timeline in timelines] == [1, 2, 3]
    assert selectors.session_track_timelines(session=make_session(user, ["sad"])) == []  # stored without tracks


def test_session_detail_paginates_its_detections(user_client, user):
    session = make_session(user, ["neutral"] * 60)
    html = user_client.get(reverse("history-detail", args=[session.pk]), {"page": 2}).content.decode()
    assert "Page 2 of 2" in html
    assert html.count("<tr>") == 1 + 10


@pytest.mark.parametrize("name", ["history-detail", "history-export-csv", "history-export-json"])
def test_another_users_session_is_404(user_client, other_user, name):
    theirs = make_session(other_user, ["happy"])
    assert user_client.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert user_client.get(reverse(name, args=[theirs.pk + 1000])).status_code == 404


def test_csv_export(user_client, user):
    session = make_session(user, ["happy", "sad"], faces_per_frame=2, tracks=[2, 1])
    response = user_client.get(reverse("history-export-csv", args=[session.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="session-{session.pk}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(downloaded(response))))
    assert len(rows) == 4
    assert list(rows[0]) == list(selectors.EXPORT_FIELDS)
    assert [(row["frame_index"], row["face_index"], row["track"], row["emotion"]) for row in rows] == [
        ("0", "0", "2", "happy"), ("0", "1", "1", "happy"), ("1", "0", "2", "sad"), ("1", "1", "1", "sad")
    ]
    assert float(rows[0]["happy"]) == pytest.approx(0.7)
    assert (rows[0]["x"], rows[0]["y"], rows[0]["width"], rows[0]["height"]) == ("10", "20", "100", "100")


def test_json_export(user_client, user):
    session = make_session(user, ["fear", "fear", "neutral"], seconds=3)
    response = user_client.get(reverse("history-export-json", args=[session.pk]))
    assert response.status_code == 200
    assert f'filename="session-{session.pk}.json"' in response["Content-Disposition"]
    data = json.loads(downloaded(response))
    assert data["session"]["id"] == session.pk
    assert data["session"]["duration_seconds"] == pytest.approx(3)
    assert data["session"]["model_label"] == "test-model"
    assert len(data["detections"]) == 3
    first = data["detections"][0]
    assert set(first) == set(selectors.EXPORT_FIELDS)
    assert first["emotion"] == "fear" and first["fear"] == pytest.approx(0.7) and first["track"] is None
    assert [d["offset_ms"] for d in data["detections"]] == [0, 1000, 2000]


def test_timeline_of_a_long_session_is_averaged_into_buckets(user):
    session = make_session(user, ["happy", "sad"] * 500, seconds=100)
    timeline = selectors.session_timeline(session=session, max_points=50)
    assert 40 <= len(timeline["seconds"]) <= 50
    assert all(value == pytest.approx(0.375) for value in timeline["series"]["happy"])  # (0.7 + 0.05) / 2


def test_timeline_and_distribution_of_an_empty_session(user, user_client):
    session = CaptureSessionFactory(user=user)
    assert selectors.session_timeline(session=session) == {"seconds": [], "series": {e: [] for e in EMOTIONS}}
    assert selectors.session_distribution(session=session) == dict.fromkeys(EMOTIONS, 0)
    html = user_client.get(reverse("history-detail", args=[session.pk])).content.decode()
    assert "No faces were detected" in html


def test_dominant_emotion_follows_the_main_faces_summed_probabilities_not_tied_counts(user_client, user):
    """Two faces, as many happy as sad detections: the main face (the one charted) is sad, so is the session."""
    started = timezone.now() - timedelta(minutes=5)
    session = CaptureSessionFactory(user=user, started_at=started, ended_at=started + timedelta(seconds=30))
    for frame in range(6):
        DetectionFactory(session=session, frame_index=frame, face_index=0, emotion="sad", **scores_for("sad", 0.55))
        DetectionFactory(session=session, frame_index=frame, face_index=1, emotion="happy", **scores_for("happy", 0.9))
    assert selectors.session_distribution(session=session)["happy"] == selectors.session_distribution(
        session=session)["sad"]

    (row,) = user_client.get(reverse("history")).context["page"].object_list
    assert row.dominant_emotion == "sad"
    response = user_client.get(reverse("history-detail", args=[session.pk]))
    html = response.content.decode()
    assert '<dd><span class="pill sad">Sad</span></dd>' in html
    assert "How the dominant emotion is chosen" in html and "summed over every detection of the main face" in html
    assert response.context["dominant_basis"][0] == {"emotion": "sad", "mean": pytest.approx(0.55)}
    timeline = selectors.session_timeline(session=session)
    assert max(EMOTIONS, key=lambda e: sum(timeline["series"][e])) == "sad"  # the chart agrees


def test_dominant_emotion_breaks_an_exact_tie_in_the_listed_order(user):
    session = CaptureSessionFactory(user=user)
    tied = {name: 0.0 for name in EMOTIONS} | {"sad": 0.5, "fear": 0.5}
    DetectionFactory(session=session, emotion="fear", **tied)
    assert selectors.user_session(user=user, session_id=session.pk).dominant_emotion == "fear"
    assert selectors.dominant_emotion(tied) == "fear"
    assert selectors.dominant_emotion({name: None for name in EMOTIONS}) is None


def test_the_api_documents_the_dominant_emotion_rule(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    summaries = [body for body in schema["components"]["schemas"].values()
                 if "dominant_emotion" in body.get("properties", {})]
    assert summaries and all(
        body["properties"]["dominant_emotion"]["description"].startswith(selectors.DOMINANT_EMOTION_RULE)
        for body in summaries)


# --- filters and the export of all sessions ---


def listed_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-session="(\d+)">', response.content.decode())]


def test_history_filters_by_date_range(user_client, user):
    now = timezone.now()
    old = make_session(user, ["happy"], started_at=now - timedelta(days=40))
    middle = make_session(user, ["sad"], started_at=now - timedelta(days=10))
    new = make_session(user, ["happy"], started_at=now - timedelta(hours=1))
    day = lambda when: when.date().isoformat()  # noqa: E731
    url = reverse("history")
    assert listed_ids(user_client.get(url)) == [new.pk, middle.pk, old.pk]
    assert listed_ids(user_client.get(url, {"date_from": day(now - timedelta(days=20))})) == [new.pk, middle.pk]
    assert listed_ids(user_client.get(url, {"date_to": day(now - timedelta(days=5))})) == [middle.pk, old.pk]
    assert listed_ids(user_client.get(url, {"date_from": day(middle.started_at),
                                            "date_to": day(middle.started_at)})) == [middle.pk]


def test_history_filters_by_dominant_emotion(user_client, user, other_user):
    happy = make_session(user, ["happy", "happy", "sad"])
    sad = make_session(user, ["sad"])
    make_session(user, [])  # no faces: no dominant emotion
    make_session(other_user, ["happy"])
    url = reverse("history")
    assert listed_ids(user_client.get(url, {"emotion": "happy"})) == [happy.pk]
    assert listed_ids(user_client.get(url, {"emotion": "sad"})) == [sad.pk]
    response = user_client.get(url, {"emotion": "angry"})
    assert listed_ids(response) == [] and "No session matches these filters" in response.content.decode()


def test_history_filter_form_keeps_its_values_and_refuses_bad_ones(user_client, user):
    make_session(user, ["happy"])
    html = user_client.get(reverse("history"), {"emotion": "happy", "date_from": "2020-01-02"}).content.decode()
    assert '<option value="happy" selected>' in html and 'value="2020-01-02"' in html
    response = user_client.get(reverse("history"), {"date_from": "yesterday-ish", "emotion": "bored"})
    assert response.status_code == 200 and listed_ids(response) == []


def test_history_pagination_keeps_the_filters(user_client, user):
    for _ in range(21):
        make_session(user, ["sad"])
    html = user_client.get(reverse("history"), {"emotion": "sad"}).content.decode()
    assert "?emotion=sad&amp;page=2" in html


def test_export_of_all_sessions_as_csv_has_one_row_per_detection_of_own_sessions(user_client, user, other_user):
    first = make_session(user, ["happy", "sad"], started_at=timezone.now() - timedelta(days=2), seconds=2,
                         faces_per_frame=2)
    second = make_session(user, ["fear"])
    make_session(other_user, ["angry"] * 3)
    response = user_client.get(reverse("history-export-all-csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="moodlens-sessions.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(downloaded(response))))
    assert list(rows[0]) == list(selectors.USER_EXPORT_FIELDS)
    assert [(int(r["session"]), r["frame_index"], r["face_index"], r["emotion"]) for r in rows] == [
        (first.pk, "0", "0", "happy"), (first.pk, "0", "1", "happy"), (first.pk, "1", "0", "sad"),
        (first.pk, "1", "1", "sad"), (second.pk, "0", "0", "fear"),
    ]
    assert rows[2]["time"] == (first.started_at + timedelta(seconds=1)).isoformat()
    assert (rows[0]["x"], rows[0]["y"], rows[0]["width"], rows[0]["height"]) == ("10", "20", "100", "100")
    assert float(rows[4]["fear"]) == pytest.approx(0.7)


def test_export_of_all_sessions_as_json_has_the_sessions_and_their_detections(user_client, user, other_user):
    session = make_session(user, ["neutral", "happy"], seconds=2)
    session.title = "Kitchen"
    session.save()
    empty = make_session(user, [], started_at=timezone.now() - timedelta(minutes=1))
    make_session(other_user, ["angry"])
    response = user_client.get(reverse("history-export-all-json"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    data = json.loads(downloaded(response))
    assert [(s["id"], s["title"]) for s in data["sessions"]] == [(session.pk, "Kitchen"), (empty.pk, "")]
    assert [(d["session"], d["emotion"], d["offset_ms"]) for d in data["detections"]] == [
        (session.pk, "neutral", 0), (session.pk, "happy", 1000)]
    assert set(data["detections"][0]) == set(selectors.USER_EXPORT_FIELDS)
    assert data["detections"][1]["happy"] == pytest.approx(0.7)


def test_export_of_all_sessions_without_any(user_client):
    assert downloaded(user_client.get(reverse("history-export-all-csv"))).splitlines() == [
        ",".join(selectors.USER_EXPORT_FIELDS)]
    assert json.loads(downloaded(user_client.get(reverse("history-export-all-json")))) == {
        "sessions": [], "detections": []}


@pytest.mark.parametrize("name", ["history-export-all-csv", "history-export-all-json"])
def test_export_of_all_sessions_needs_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.django_db(transaction=True)
async def test_exports_stream_asynchronously_under_asgi(async_client, user):
    """Under ASGI Django would read a synchronous iterator whole before sending; the exports give it an
    asynchronous one, whose chunks are read from the database as they are sent."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    try:
        session = await sync_to_async(make_session)(user, ["happy", "sad", "fear"])
        await async_client.aforce_login(user)
        response = await async_client.get(reverse("history-export-all-csv"))
        assert response.status_code == 200 and response.is_async
        text = b"".join([chunk async for chunk in response.streaming_content]).decode()
        assert [row["emotion"] for row in csv.DictReader(io.StringIO(text))] == ["happy", "sad", "fear"]
        response = await async_client.get(reverse("history-export-json", args=[session.pk]))
        assert response.is_async
        data = json.loads(b"".join([chunk async for chunk in response.streaming_content]))
        assert data["session"]["id"] == session.pk and len(data["detections"]) == 3
    finally:  # the sync thread's connection, else the test database cannot be dropped
        await sync_to_async(connections.close_all)()
