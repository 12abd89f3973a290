"""Live sessions end whatever happens to their connection: the sweep, ownership, the end reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from emotions import services, tasks
from emotions.models import CaptureSession
from tests.factories import CaptureSessionFactory

pytestmark = pytest.mark.django_db


def test_the_sweep_ends_running_sessions_not_seen_for_a_while(settings):
    settings.SESSION_STALE_SECONDS = 600
    now = timezone.now()
    orphan = CaptureSessionFactory(started_at=now - timedelta(hours=1), last_seen_at=now - timedelta(minutes=20))
    live = CaptureSessionFactory(started_at=now - timedelta(hours=1), last_seen_at=now - timedelta(minutes=1))
    ended = CaptureSessionFactory(started_at=now - timedelta(hours=2), last_seen_at=now - timedelta(hours=1),
                                  ended_at=now - timedelta(hours=1), end_reason="stopped")

    assert services.sweep_stale_sessions() == 1
    orphan.refresh_from_db()
    assert orphan.ended_at == orphan.last_seen_at and orphan.end_reason == "swept" and orphan.connection == ""
    assert CaptureSession.objects.get(pk=live.pk).ended_at is None
    assert CaptureSession.objects.get(pk=ended.pk).end_reason == "stopped"


def test_the_periodic_task_and_the_command_sweep(settings, capsys):
    old = timezone.now() - timedelta(hours=1)
    CaptureSessionFactory(started_at=old, last_seen_at=old)
    assert tasks.sweep_stale_sessions() == 1
    CaptureSessionFactory(started_at=old, last_seen_at=old)
    call_command("sweep_sessions", "--stale-seconds", "60")
    assert "ended 1 stale session(s)" in capsys.readouterr().out
    assert not CaptureSession.objects.filter(ended_at__isnull=True).exists()


def test_only_the_connection_that_owns_a_session_ends_it():
    session = CaptureSessionFactory(connection="new", last_seen_at=timezone.now())
    assert services.end_session(session=session, connection="old", reason="disconnected") is False
    assert CaptureSession.objects.get(pk=session.pk).ended_at is None
    assert services.end_session(session=session, connection="new", reason="stopped") is True
    session.refresh_from_db()
    assert session.ended_at is not None and session.end_reason == "stopped"


def test_a_keep_alive_says_whether_the_connection_still_owns_the_session():
    session = CaptureSessionFactory(connection="mine", last_seen_at=timezone.now() - timedelta(minutes=5))
    assert services.keep_session_alive(session_id=session.pk, connection="mine") is True
    assert CaptureSession.objects.get(pk=session.pk).last_seen_at > timezone.now() - timedelta(seconds=5)
    assert services.keep_session_alive(session_id=session.pk, connection="someone-else") is False


def test_late_writes_of_an_old_connection_are_numbered_after_the_new_ones(user):
    """Frames are numbered at write time under the session's row lock: two writers cannot collide."""
    session = services.start_session(user=user, connection="old")
    face = {"box": [1, 2, 30, 30], "emotion": "happy", "scores": dict.fromkeys(services.EMOTIONS, 1 / 7)}
    new = services.SessionRecorder(session)
    old = services.SessionRecorder(session)
    for recorder in (new, old, new):
        recorder.receive_frame()
        recorder.add_result(10, [face])
    assert services.save_batches([new.take_batch()]) == [2]
    assert services.save_batches([old.take_batch()]) == [1]
    session.refresh_from_db()
    assert (session.frames_received, session.frames_processed) == (3, 3)
    assert sorted(session.detections.values_list("frame_index", flat=True)) == [0, 1, 2]


def test_one_write_carries_the_frames_of_several_sessions(user, other_user):
    face = {"box": [1, 2, 30, 30], "emotion": "sad", "scores": dict.fromkeys(services.EMOTIONS, 1 / 7)}
    first, second, deleted = (services.start_session(user=owner, connection="c") for owner in (user, other_user, user))
    recorders = [services.SessionRecorder(session) for session in (first, second, deleted, first)]
    for count, recorder in zip((1, 3, 1, 1), recorders, strict=True):
        for _ in range(count):
            recorder.receive_frame()
            recorder.add_result(5, [face, face])
    recorders[1].receive_frame()
    recorders[1].drop_frame()
    deleted.delete()

    assert services.save_batches([recorder.take_batch() for recorder in recorders]) == [2, 6, 0, 2]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.frames_received, first.frames_processed, first.frames_dropped) == (2, 2, 0)
    assert sorted(first.detections.values_list("frame_index", "face_index")) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert (second.frames_received, second.frames_processed, second.frames_dropped) == (4, 3, 1)
    assert second.detections.count() == 6


def test_the_sweep_ends_old_sessions_without_keep_alives_but_leaves_video_analyses(settings):
    """Sessions from before keep-alives existed (no last_seen_at) are judged by their start; a video
    session runs as long as its analysis, which has its own state."""
    settings.SESSION_STALE_SECONDS = 600
    old = timezone.now() - timedelta(hours=3)
    orphan = CaptureSessionFactory(started_at=old, last_seen_at=None)
    video = CaptureSessionFactory(started_at=old, last_seen_at=None, kind=CaptureSession.Kind.VIDEO)

    assert services.sweep_stale_sessions() == 1
    orphan.refresh_from_db()
    assert orphan.ended_at == orphan.started_at and orphan.end_reason == "swept"
    assert CaptureSession.objects.get(pk=video.pk).ended_at is None
