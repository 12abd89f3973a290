"""Writes that give people control over their data: deleting a session or all of them, naming and
annotating a session, and the retention sweep that deletes sessions older than DETECTION_RETENTION_DAYS.

Deleting a session deletes its detections (cascade) and its video file, if any: nothing of it is left.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from emotions.models import CaptureSession
from emotions.video_services import remove_files, stored_video_files

logger = logging.getLogger(__name__)


def _delete_sessions(sessions: QuerySet[CaptureSession]) -> int:
    """Delete `sessions` with their detections and video files; returns how many sessions."""
    with transaction.atomic():
        # Rows locked in id order, as the detection writer locks them, so the two cannot deadlock.
        doomed = list(sessions.select_for_update().order_by("pk").values_list("pk", flat=True))
        files = stored_video_files(doomed)
        CaptureSession.objects.filter(pk__in=doomed).delete()
        # The files go once the rows are gone for good: a rolled-back delete keeps both.
        transaction.on_commit(partial(remove_files, files))
    return len(doomed)


def delete_session(*, session: CaptureSession) -> None:
    """Delete one session, its detections and its video file (a kept one too)."""
    _delete_sessions(CaptureSession.objects.filter(pk=session.pk))


def delete_user_data(*, user: AbstractBaseUser) -> int:
    """Delete every session of `user` (live and video), their detections and video files; returns how many."""
    deleted = _delete_sessions(CaptureSession.objects.filter(user=user))
    logger.info("deleted all %d session(s) of user %s at their request", deleted, user.pk)
    return deleted


@transaction.atomic
def annotate_session(*, session: CaptureSession, title: str, note: str) -> CaptureSession:
    """Give a session a short title and a free note (either may be empty)."""
    session.title, session.note = title.strip(), note.strip()
    session.save(update_fields=["title", "note"])
    return session


def retention_days() -> int | None:
    """DETECTION_RETENTION_DAYS, or None when retention is off (the setting is 0, the default)."""
    return settings.DETECTION_RETENTION_DAYS or None


def delete_expired_sessions(*, days: int | None = None, now: datetime | None = None) -> int:
    """Delete the finished sessions that started more than `days` days ago (default: the setting;
    retention off: nothing is deleted). A session still running is left to end first. Returns how many."""
    days = retention_days() if days is None else days
    if not days:
        return 0
    horizon = (now or timezone.now()) - timedelta(days=days)
    deleted = _delete_sessions(CaptureSession.objects.filter(started_at__lt=horizon, ended_at__isnull=False))
    if deleted:
        logger.info("retention: deleted %d session(s) started before %s (%d days)", deleted, horizon, days)
    return deleted
