"""Writes for live capture sessions: start, resume, record detections, end, sweep (the model in use
is `emotions.active_model`'s).

A live connection keeps its state in a `SessionRecorder` (in memory, on the event loop) and hands
the database a `FlushBatch` before it answers a frame, so every answered face is stored even if the
process dies next; a write that fails is kept and retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from emotions import active_model
from emotions.models import CaptureSession, Detection, EndReason
from emotions.recognition import FaceResult, StreamTracker, TrackedFace
from training.core.labels import EMOTIONS

logger = logging.getLogger(__name__)

USER_AGENT_MAX = 300
MAX_FRAME_SIDE = 10_000


def analyse_frame(
    stream: StreamTracker, image_bytes: bytes
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Faces in one frame, largest first, each with its track: as shown (smoothed over the track's
    last frames) and as stored (as found in this frame); and the milliseconds it took.

    Raises `InvalidImageError` for bytes that are not a usable image. CPU-bound: call it off
    the event loop, and for one stream at a time.
    """
    started = time.perf_counter()
    faces = stream.follow(image_bytes)
    shown = faces_largest_first(faces)
    stored = faces_largest_first(faces, as_dict=TrackedFace.raw_dict)
    return shown, stored, (time.perf_counter() - started) * 1000


def faces_largest_first(
    results: Iterable[FaceResult | TrackedFace], *, as_dict: Callable[[Any], dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Recognition results as the JSON-ready dicts clients get (or `as_dict` of each), the largest face first."""
    faces = [face.to_dict() if as_dict is None else as_dict(face) for face in results]
    faces.sort(key=lambda face: face["box"][2] * face["box"][3], reverse=True)
    return faces


def client_info(*, headers: Iterable[tuple[bytes, bytes]] = (), message: Mapping[str, Any] | None = None) -> dict:
    """What is worth keeping about the client: its user agent and the frame size it sends."""
    info: dict[str, Any] = {}
    for name, value in headers:
        if name.lower() == b"user-agent":
            info["user_agent"] = value.decode("latin-1")[:USER_AGENT_MAX]
    message = message or {}
    width, height = message.get("width"), message.get("height")
    if all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_FRAME_SIDE for v in (width, height)):
        info["frame_size"] = [width, height]
    return info


def start_session(
    *, user: AbstractBaseUser, client_info: Mapping[str, Any] | None = None, connection: str = ""
) -> CaptureSession:
    active_model.follow_registry()  # in case another process activated a version meanwhile
    return CaptureSession.objects.create(
        user=user, model_label=active_model.current_model_label(), client_info=dict(client_info or {}),
        connection=connection, last_seen_at=timezone.now(),
    )


def open_session(
    *, user: AbstractBaseUser, connection: str, resume_id: int | None = None,
    client_info: Mapping[str, Any] | None = None,
) -> tuple[CaptureSession, bool]:
    """The session a live connection records: `resume_id` if it may be resumed, else a new one;
    and whether it was resumed."""
    if resume_id is not None:
        session = resume_session(user=user, session_id=resume_id, connection=connection)
        if session is not None:
            return session, True
    return start_session(user=user, client_info=client_info, connection=connection), False


def resume_session(*, user: AbstractBaseUser, session_id: int, connection: str) -> CaptureSession | None:
    """Hand the user's session `session_id` to a new connection, or None if it may not be resumed.

    A page whose socket dropped (a network blip, a server process that died) reconnects, maybe to
    another process, and continues the same session. Not resumable: another user's session, one
    the user stopped, or one not seen for `SESSION_RESUME_SECONDS`.
    """
    now = timezone.now()
    horizon = now - timedelta(seconds=settings.SESSION_RESUME_SECONDS)
    with transaction.atomic():
        session = (
            CaptureSession.objects.select_for_update()
            .filter(pk=session_id, user=user, last_seen_at__gte=horizon)
            .exclude(end_reason=EndReason.STOPPED)
            .first()
        )
        if session is None:
            return None
        session.ended_at, session.end_reason, session.connection = None, "", connection
        session.reconnects += 1
        session.last_seen_at = now
        session.save(update_fields=["ended_at", "end_reason", "connection", "reconnects", "last_seen_at"])
    active_model.follow_registry()  # in case another process activated a version meanwhile
    return session


def update_client_info(*, session: CaptureSession, info: Mapping[str, Any]) -> CaptureSession:
    if info:
        session.client_info = {**session.client_info, **info}
        session.save(update_fields=["client_info"])
    return session


def build_detections(
    *, session_id: int, frame_index: int, offset_ms: int, faces: Sequence[Mapping[str, Any]]
) -> list[Detection]:
    """Unsaved detections for the faces of one frame (face_index 0 is the first face given; a face's
    "track", if any, is stored too)."""
    detections = []
    for face_index, face in enumerate(faces):
        x, y, width, height = (max(0, int(v)) for v in face["box"])
        if width == 0 or height == 0:
            continue
        scores = face["scores"]
        detections.append(Detection(
            session_id=session_id, offset_ms=offset_ms, frame_index=frame_index, face_index=face_index,
            x=x, y=y, width=width, height=height, emotion=face["emotion"], track=face.get("track"),
            **{emotion: float(scores[emotion]) for emotion in EMOTIONS},
        ))
    return detections


def record_detections(*, detections: Sequence[Detection]) -> int:
    """Insert detections in bulk; returns how many."""
    Detection.objects.bulk_create(detections, batch_size=500)
    return len(detections)


def end_session(*, session: CaptureSession, connection: str, reason: str) -> bool:
    """Mark the session ended, if `connection` still owns it; False if it does not (another
    connection resumed it, a sweep ended it, or its owner deleted it)."""
    session.ended_at = max(timezone.now(), session.started_at)
    session.end_reason = reason
    return bool(CaptureSession.objects.filter(pk=session.pk, connection=connection, ended_at__isnull=True).update(
        ended_at=session.ended_at, end_reason=reason
    ))


def keep_session_alive(*, session_id: int, connection: str) -> bool:
    """Note that `connection` is still there; False if it no longer owns a running session."""
    return bool(CaptureSession.objects.filter(pk=session_id, connection=connection, ended_at__isnull=True).update(
        last_seen_at=timezone.now()
    ))


def sweep_stale_sessions(*, stale_seconds: int | None = None) -> int:
    """End the running sessions no connection has written to for `stale_seconds` (default
    `SESSION_STALE_SECONDS`): their process died, so nobody else will. Returns how many."""
    stale_seconds = settings.SESSION_STALE_SECONDS if stale_seconds is None else stale_seconds
    horizon = timezone.now() - timedelta(seconds=stale_seconds)
    last_sign = Coalesce(F("last_seen_at"), F("started_at"))  # sessions from before keep-alives: their start
    swept = (
        CaptureSession.objects.filter(kind=CaptureSession.Kind.LIVE, ended_at__isnull=True)
        .alias(last_sign=last_sign).filter(last_sign__lt=horizon)
        .update(ended_at=Greatest(last_sign, F("started_at")), end_reason=EndReason.SWEPT, connection="")
    )
    if swept:
        logger.warning("ended %d live session(s) not seen for %d s", swept, stale_seconds)
    return swept


def count_lost_detections(*, session_id: int, lost: int) -> None:
    """Record on the session that `lost` answered detections could not be written."""
    CaptureSession.objects.filter(pk=session_id).update(detections_lost=F("detections_lost") + lost)


@dataclass
class AnalysedFrame:
    offset_ms: int
    faces: list[Mapping[str, Any]]


def count_faces(frames: Iterable[AnalysedFrame]) -> int:
    return sum(len(frame.faces) for frame in frames)


@dataclass
class FlushBatch:
    """What one write stores: the frames analysed since the last write, and the frame counts
    since then (added to the session's totals, so writers on two connections compose)."""

    session_id: int
    frames: list[AnalysedFrame]
    received: int
    dropped: int
    abandoned: bool = False  # its writer's caller was cancelled: a failed write is logged as lost

    @property
    def detection_count(self) -> int:
        return count_faces(self.frames)


def save_video_detections(*, session_id: int, detections: Sequence[Detection], analysed: int) -> bool:
    """Write detections of a video (numbered by the video's own frames) and its frame totals so far
    (absolute, so a repeated write is harmless); False if the session no longer exists."""
    with transaction.atomic():
        # The update first: it locks the session row, so a delete cannot slip in before the insert.
        exists = bool(CaptureSession.objects.filter(pk=session_id).update(
            frames_received=analysed, frames_processed=analysed
        ))
        if exists:
            record_detections(detections=detections)
    return exists


def save_batches(batches: Sequence[FlushBatch]) -> list[int]:
    """Write `FlushBatch`es of any sessions in one transaction; returns the detections written for
    each (none for a session deleted while it ran: its owner asked for its detections to go).

    Frames are numbered here, after each session's analysed frames so far, under the session's row
    lock: a connection that resumed a session cannot collide with a late write of the old one.
    Rows are locked in id order, so concurrent writers cannot deadlock.
    """
    by_session: dict[int, list[FlushBatch]] = {}
    for batch in batches:
        by_session.setdefault(batch.session_id, []).append(batch)
    now = timezone.now()
    with transaction.atomic():
        first_indices = dict(
            CaptureSession.objects.select_for_update().filter(pk__in=by_session).order_by("pk")
            .values_list("pk", "frames_processed")
        )
        detections: list[Detection] = []
        added: dict[str, dict[int, int]] = {"frames_received": {}, "frames_processed": {}, "frames_dropped": {}}
        for session_id, session_batches in by_session.items():
            if session_id not in first_indices:
                continue
            frames = [frame for batch in session_batches for frame in batch.frames]
            added["frames_received"][session_id] = sum(batch.received for batch in session_batches)
            added["frames_processed"][session_id] = len(frames)
            added["frames_dropped"][session_id] = sum(batch.dropped for batch in session_batches)
            for number, frame in enumerate(frames):
                detections += build_detections(
                    session_id=session_id, frame_index=first_indices[session_id] + number,
                    offset_ms=frame.offset_ms, faces=frame.faces,
                )
        if first_indices:  # one statement for all the sessions (a write carries many under load)
            CaptureSession.objects.filter(pk__in=first_indices).update(
                last_seen_at=now, **{name: F(name) + _per_session(counts) for name, counts in added.items()}
            )
        record_detections(detections=detections)
    return [batch.detection_count if batch.session_id in first_indices else 0 for batch in batches]


def _per_session(values: Mapping[int, int]) -> Case | Value:
    """An SQL expression worth `values[pk]` on each session's row (0 for any other row)."""
    distinct = set(values.values())
    if len(distinct) <= 1:
        return Value(distinct.pop() if distinct else 0)
    return Case(*(When(pk=pk, then=Value(value)) for pk, value in values.items()), default=Value(0))


@dataclass
class SessionRecorder:
    """The running state of one live connection's session between writes. Used from one event
    loop only. Counts are this connection's; offsets are from the session's start, so a resumed
    session's timeline continues."""

    session: CaptureSession
    received: int = 0
    processed: int = 0
    dropped: int = 0
    faces: int = 0
    pending_frames: list[AnalysedFrame] = field(default_factory=list)
    pending_received: int = 0
    pending_dropped: int = 0
    start: float = field(init=False)

    def __post_init__(self) -> None:
        elapsed = max(0.0, (timezone.now() - self.session.started_at).total_seconds())
        self.start = time.monotonic() - elapsed

    def receive_frame(self) -> tuple[int, int]:
        """Count a new frame; returns its number on this connection and its offset in milliseconds."""
        number = self.received
        self.received += 1
        self.pending_received += 1
        return number, round((time.monotonic() - self.start) * 1000)

    def drop_frame(self) -> None:
        self.dropped += 1
        self.pending_dropped += 1

    def add_result(self, offset_ms: int, faces: Sequence[Mapping[str, Any]]) -> None:
        self.pending_frames.append(AnalysedFrame(offset_ms, list(faces)))
        self.faces += len(faces)
        self.processed += 1

    @property
    def pending_detections(self) -> int:
        return count_faces(self.pending_frames)

    def take_batch(self) -> FlushBatch | None:
        """Everything not yet written, or None if nothing changed since the last batch."""
        if not (self.pending_frames or self.pending_received or self.pending_dropped):
            return None
        batch = FlushBatch(self.session.pk, self.pending_frames, self.pending_received, self.pending_dropped)
        self.pending_frames, self.pending_received, self.pending_dropped = [], 0, 0
        return batch

    def put_back(self, batch: FlushBatch) -> None:
        """A write failed: keep its frames for the next one, ahead of newer ones."""
        self.pending_frames[:0] = batch.frames
        self.pending_received += batch.received
        self.pending_dropped += batch.dropped
