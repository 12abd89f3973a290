"""DETECTION_RETENTION_DAYS: the beat task deletes sessions older than the retention; off by default."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from emotions import tasks
from emotions.models import CaptureSession, Detection, VideoAnalysis
from tests.factories import CaptureSessionFactory, DetectionFactory

pytestmark = pytest.mark.django_db


def session_days_ago(days: float, *, ended: bool = True, user=None) -> CaptureSession:
    started = timezone.now() - timedelta(days=days)
    extra = {"user": user} if user else {}
    session = CaptureSessionFactory(started_at=started, ended_at=started + timedelta(minutes=5) if ended else None,
                                    **extra)
    DetectionFactory(session=session)
    return session


def test_retention_is_off_by_default_and_the_task_then_deletes_nothing():
    assert django_settings.DETECTION_RETENTION_DAYS == 0
    old = session_days_ago(3650)
    assert tasks.delete_expired_sessions() == 0
    assert CaptureSession.objects.filter(pk=old.pk).exists()
    assert Detection.objects.filter(session=old).count() == 1


def test_the_task_deletes_sessions_older_than_the_retention_and_keeps_recent_ones(settings, tmp_path: Path,
                                                                              django_capture_on_commit_callbacks):
    settings.DETECTION_RETENTION_DAYS = 7
    old, older = session_days_ago(8), session_days_ago(400)
    recent = session_days_ago(6)
    video_file = tmp_path / "old.mp4"
    video_file.write_bytes(b"kept video")
    old_video = session_days_ago(10)
    old_video.kind = CaptureSession.Kind.VIDEO
    old_video.save()
    VideoAnalysis.objects.create(session=old_video, file_name="old.mp4", stored_path=str(video_file), keep_file=True)

    with django_capture_on_commit_callbacks(execute=True):  # files go once the deletion commits
        assert tasks.delete_expired_sessions() == 3

    assert set(CaptureSession.objects.values_list("pk", flat=True)) == {recent.pk}
    assert not Detection.objects.filter(session_id__in=[old.pk, older.pk, old_video.pk]).exists()
    assert Detection.objects.filter(session=recent).count() == 1
    assert not video_file.exists()
    assert tasks.delete_expired_sessions() == 0  # nothing left to do


def test_a_session_still_running_is_left_to_end_first(settings):
    settings.DETECTION_RETENTION_DAYS = 1
    running = session_days_ago(2, ended=False)
    assert tasks.delete_expired_sessions() == 0
    assert CaptureSession.objects.filter(pk=running.pk).exists()


def test_beat_runs_the_retention_task():
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks.delete_expired_sessions.name in scheduled


def test_a_negative_retention_stops_start_up():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DETECTION_RETENTION_DAYS": "-1", "DJANGO_SETTINGS_MODULE": "fer_site.settings"}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=django_settings.BASE_DIR)
    assert done.returncode != 0 and "DETECTION_RETENTION_DAYS" in done.stderr
