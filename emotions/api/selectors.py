"""Reads behind the REST API: a user's sessions, their detections and summaries.

The daily emotion mix is the history pages' read (`emotions.selectors.daily_emotion_mix`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Avg, Count, F, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from emotions import selectors as history
from emotions.models import CaptureSession
from training.core.labels import EMOTIONS


def sessions_with_counts(*, user: AbstractBaseUser) -> QuerySet[CaptureSession]:
    """The user's own sessions (never anyone else's), newest first, with their detection counts.

    The history pages' read, with its face count under the API's field name.
    """
    return history.user_sessions(user=user).annotate(detection_count=F("face_count"))


def user_session_or_404(*, user: AbstractBaseUser, session_id: int) -> CaptureSession:
    """One of the user's sessions; Http404 for a session of another user, so its existence is not revealed."""
    return get_object_or_404(sessions_with_counts(user=user), pk=session_id)


def session_statistics(*, session: CaptureSession) -> dict[str, Any]:
    """Counts and shares of each top emotion, mean scores and the dominant emotion of one session."""
    aggregates = history.session_detections(session=session).aggregate(
        total=Count("id"),
        frames=Count("frame_index", distinct=True),
        **{f"count_{e}": Count("id", filter=Q(emotion=e)) for e in EMOTIONS},
        **{f"mean_{e}": Avg(e) for e in EMOTIONS},
        **{f"main_{e}": Sum(e, filter=Q(face_index=history.MAIN_FACE)) for e in EMOTIONS},
    )
    total = aggregates["total"]
    counts = {e: aggregates[f"count_{e}"] for e in EMOTIONS}
    return {
        "session": session.pk,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "duration_seconds": session.duration_seconds,
        "model_label": session.model_label,
        "frames_received": session.frames_received,
        "frames_processed": session.frames_processed,
        "frames_dropped": session.frames_dropped,
        "frames_with_faces": aggregates["frames"],
        "detections": total,
        "dominant_emotion": history.dominant_emotion({e: aggregates[f"main_{e}"] for e in EMOTIONS}),
        "counts": counts,
        "shares": history.emotion_shares(counts, total),
        "mean_scores": {e: aggregates[f"mean_{e}"] or 0.0 for e in EMOTIONS},
    }
