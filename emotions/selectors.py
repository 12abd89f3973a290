"""Reads for the history pages: a user's sessions, and the emotions over time within and across them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Avg, Case, CharField, Count, F, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.db.models.expressions import ExpressionWrapper
from django.db.models.functions import Greatest, TruncDate
from django.utils import timezone

from emotions.models import CaptureSession, Detection
from training.core.labels import EMOTIONS

TIMELINE_POINTS = 600  # a longer session is averaged into this many time buckets
MAX_TRACK_TIMELINES = 8  # the session page charts at most this many faces (those seen longest)
EXPORT_FIELDS = ("frame_index", "offset_ms", "face_index", "track", "x", "y", "width", "height", "emotion", *EMOTIONS)
# The export of all of a user's sessions: each row also names its session and the detection's time.
USER_EXPORT_FIELDS = ("session", "time", *EXPORT_FIELDS)


MAIN_FACE = 0  # face_index of the largest face in its frame: the one the timeline follows
# What "dominant emotion" means, said once; the session page shows it.
DOMINANT_EMOTION_RULE = (
    "The emotion with the highest probability summed over every detection of the main face (the largest face in "
    "each frame, the one the timeline follows); other faces do not count. An exact tie goes to the emotion listed "
    "first: " + ", ".join(EMOTIONS) + "."
)


def dominant_emotion(sums: dict[str, float | None]) -> str | None:
    """The emotion of the largest summed probability (ties: first in `EMOTIONS`); None without detections."""
    present = {emotion: value for emotion, value in sums.items() if value is not None}
    return max(EMOTIONS, key=lambda emotion: present.get(emotion, -1.0)) if present else None


def _main_face_sums() -> dict[str, Sum]:
    return {f"main_{emotion}": Sum(f"detections__{emotion}", filter=Q(detections__face_index=MAIN_FACE))
            for emotion in EMOTIONS}


def _dominant_emotion_expression() -> Case:
    """`dominant_emotion` in SQL, by the same rule (the first matching When wins a tie)."""
    greatest = Greatest(*(F(f"main_{emotion}") for emotion in EMOTIONS))
    return Case(*(When(**{f"main_{emotion}": greatest}, then=Value(emotion)) for emotion in EMOTIONS),
                default=None, output_field=CharField())


def user_sessions(*, user: AbstractBaseUser) -> QuerySet[CaptureSession]:
    """The user's sessions, newest first, with `face_count`, `main_face_count`, the main face's summed
    probabilities `main_<emotion>` and `dominant_emotion` (see DOMINANT_EMOTION_RULE)."""
    return (
        CaptureSession.objects.filter(user=user)
        .select_related("video")
        .annotate(face_count=Count("detections"),
                  main_face_count=Count("detections", filter=Q(detections__face_index=MAIN_FACE)),
                  **_main_face_sums())
        .annotate(dominant_emotion=_dominant_emotion_expression())
        .order_by("-started_at", "-id")  # Meta.ordering does not apply to a GROUP BY query
    )


def dominant_emotion_basis(*, session: CaptureSession) -> list[dict[str, Any]]:
    """Each emotion's mean probability over the main face, highest first (ties in `EMOTIONS` order):
    the numbers behind `dominant_emotion`, for a session annotated by `user_sessions`."""
    count = getattr(session, "main_face_count", 0)
    if not count:
        return []
    means = [{"emotion": emotion, "mean": getattr(session, f"main_{emotion}") / count} for emotion in EMOTIONS]
    return sorted(means, key=lambda row: -row["mean"])  # sorted() is stable: ties keep EMOTIONS order


def user_session(*, user: AbstractBaseUser, session_id: int) -> CaptureSession | None:
    """One of the user's sessions (annotated like `user_sessions`), or None: no one sees another's."""
    return user_sessions(user=user).filter(pk=session_id).first()


def session_detections(*, session: CaptureSession) -> QuerySet[Detection]:
    return session.detections.order_by("offset_ms", "frame_index", "face_index")


def session_timeline(*, session: CaptureSession, max_points: int = TIMELINE_POINTS) -> dict[str, Any]:
    """The seven probabilities over time for the main face (face_index 0, the largest in its frame).

    Returns `{"seconds": [...], "series": {emotion: [...]}}`; a long session is averaged over
    equal time buckets so the chart never has more than `max_points` points.
    """
    main_face = session.detections.filter(face_index=MAIN_FACE)
    last_ms = main_face.aggregate(last=Max("offset_ms"))["last"]
    if last_ms is None:
        return _timeline_of(main_face.none(), 1)
    return _timeline_of(main_face, _bucket_ms(last_ms, max_points))


def _bucket_ms(last_ms: int, max_points: int) -> int:
    return max(1, math.ceil((last_ms + 1) / max_points))


def _timeline_of(detections: QuerySet[Detection], bucket_ms: int) -> dict[str, Any]:
    """`{"seconds", "series"}` of `detections`, averaged over buckets of `bucket_ms`."""
    rows = (
        detections.annotate(bucket=ExpressionWrapper(F("offset_ms") / bucket_ms, output_field=IntegerField()))
        .values("bucket")
        .annotate(**{f"mean_{emotion}": Avg(emotion) for emotion in EMOTIONS}, at_ms=Avg("offset_ms"))
        .order_by("bucket")
    )
    timeline: dict[str, Any] = {"seconds": [], "series": {emotion: [] for emotion in EMOTIONS}}
    for row in rows:
        timeline["seconds"].append(round(row["at_ms"] / 1000, 2))
        for emotion in EMOTIONS:
            timeline["series"][emotion].append(round(row[f"mean_{emotion}"], 4))
    return timeline


def session_track_timelines(
    *, session: CaptureSession, max_points: int = TIMELINE_POINTS, max_tracks: int = MAX_TRACK_TIMELINES
) -> list[dict[str, Any]]:
    """One timeline per tracked face, by track number: `{"track", "detections", "seconds", "series"}`
    (as `session_timeline`; every chart on the same time buckets). At most `max_tracks` faces: the
    ones seen in the most frames. Empty for a session stored without tracks (see `session_timeline`)."""
    tracked = session.detections.filter(track__isnull=False)
    counts = list(tracked.values("track").annotate(detections=Count("pk"))
                  .order_by("-detections", "track")[:max_tracks])
    if not counts:
        return []
    bucket_ms = _bucket_ms(tracked.aggregate(last=Max("offset_ms"))["last"], max_points)
    return [
        {"track": row["track"], "detections": row["detections"],
         **_timeline_of(tracked.filter(track=row["track"]), bucket_ms)}
        for row in sorted(counts, key=lambda row: row["track"])
    ]


def next_track_number(*, session: CaptureSession) -> int:
    """The number the next new face of a live session gets: after every number it has stored."""
    last = session.detections.aggregate(last=Max("track"))["last"]
    return 1 if last is None else last + 1


def session_distribution(*, session: CaptureSession) -> dict[str, int]:
    """How many detections (all faces) had each emotion as their top one, in `EMOTIONS` order."""
    rows = session.detections.values("emotion").annotate(count=Count("pk")).values_list("emotion", "count")
    counts = dict(rows)
    return {emotion: counts.get(emotion, 0) for emotion in EMOTIONS}


def user_detections(*, user: AbstractBaseUser) -> QuerySet[Detection]:
    """Every detection of the user's own sessions."""
    return Detection.objects.filter(session__user=user)


def recent_detections(*, user: AbstractBaseUser, days: int) -> QuerySet[Detection]:
    """The user's detections from sessions started in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    return user_detections(user=user).filter(session__started_at__gte=since)


def emotion_shares(counts: dict[str, int], total: int) -> dict[str, float]:
    return {emotion: (counts[emotion] / total if total else 0.0) for emotion in EMOTIONS}


def daily_emotion_mix(*, detections: QuerySet[Detection]) -> list[dict[str, Any]]:
    """Per day (the session's start date, in the current time zone), oldest first: the number of
    detections and sessions, and the count and share of each top emotion.

    Serves the history page's chart and `/api/stats/`.
    """
    rows = (
        detections.annotate(day=TruncDate("session__started_at"))
        .values("day")
        .annotate(
            total=Count("id"),
            sessions=Count("session", distinct=True),
            **{emotion: Count("id", filter=Q(emotion=emotion)) for emotion in EMOTIONS},
        )
        .order_by("day")
    )
    mix = []
    for row in rows:
        counts = {emotion: row[emotion] for emotion in EMOTIONS}
        mix.append({"day": row["day"], "detections": row["total"], "sessions": row["sessions"],
                    "counts": counts, "shares": emotion_shares(counts, row["total"])})
    return mix


def session_export_header(*, session: CaptureSession) -> dict[str, Any]:
    """The session's own fields, as exported with its detections."""
    return {
        "id": session.pk,
        "kind": session.kind,
        "title": session.title,
        "note": session.note,
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "duration_seconds": session.duration_seconds,
        "model_label": session.model_label,
        "frames_received": session.frames_received,
        "frames_processed": session.frames_processed,
        "frames_dropped": session.frames_dropped,
        "client_info": session.client_info,
    }


def user_session_export_headers(*, user: AbstractBaseUser) -> list[dict[str, Any]]:
    """`session_export_header` of each of the user's sessions, oldest first (the head of their full export)."""
    sessions = CaptureSession.objects.filter(user=user).select_related("video").order_by("started_at", "id")
    return [session_export_header(session=session) for session in sessions]


def export_rows(*, session: CaptureSession) -> QuerySet:
    """The detections of a session as tuples in `EXPORT_FIELDS` order (streamed from the database)."""
    return session_detections(session=session).values_list(*EXPORT_FIELDS)


def user_export_rows(*, user: AbstractBaseUser) -> Iterator[tuple]:
    """Every detection of the user's sessions (oldest session first) as tuples in `USER_EXPORT_FIELDS`
    order: the session's id, the detection's time (ISO 8601, the session's start plus its offset), then
    `EXPORT_FIELDS`. Streamed from the database."""
    rows = (
        user_detections(user=user)
        .order_by("session__started_at", "session_id", "offset_ms", "frame_index", "face_index")
        .values_list("session_id", "session__started_at", *EXPORT_FIELDS)
        .iterator(chunk_size=2000)
    )
    offset_at = EXPORT_FIELDS.index("offset_ms")
    for session_id, started_at, *fields in rows:
        yield (session_id, (started_at + timedelta(milliseconds=fields[offset_at])).isoformat(), *fields)
