"""Writes for live capture sessions: start, record detections, count frames, end; and the model in use.

A live connection keeps its state in a `SessionRecorder` (in memory, on the event loop) and hands
the database a `FlushBatch` at least once a second, so the per-frame path never waits for a write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from emotions import recognizer
from emotions.models import CaptureSession, Detection
from emotions.recognition import FaceResult, StreamTracker
from emotions.recognition.labels import EMOTIONS

MODEL_LABEL_MAX = CaptureSession._meta.get_field("model_version").max_length
USER_AGENT_MAX = 300
MAX_FRAME_SIDE = 10_000


def current_model_label() -> str:
    """The label of the model that classifies now, stored on each session.

    The one place that names the model in use: the name of the active version in training's
    registry when that is the model in use, else the name of its artifact directory.
    """
    model_dir = recognizer.current_model_dir()
    try:
        from training.selectors import get_active_model_version

        active = get_active_model_version()
    except Exception:  # no database here (e.g. on the event loop) or not migrated: name the directory
        active = None
    if active is not None and Path(active.artifact_dir).resolve() == Path(model_dir).resolve():
        return active.name[:MODEL_LABEL_MAX]
    return (model_dir.name or str(model_dir))[:MODEL_LABEL_MAX]


_activation_lock = threading.Lock()


def activate_model(*, model_dir: str | Path) -> bool:
    """Classify with the model in `model_dir` from now on, in this process.

    Idempotent: every consumer of the process receives the same broadcast, but the model is
    loaded once. Returns whether the model changed.
    """
    model_dir = Path(model_dir)
    with _activation_lock:
        if recognizer.current_model_dir() == model_dir:
            return False
        recognizer.switch_model(model_dir)
        return True


def open_stream() -> StreamTracker:
    """Per-connection tracking state on the process's pipeline (loads the model at first use)."""
    return recognizer.get_pipeline().new_stream()


def analyse_frame(stream: StreamTracker, image_bytes: bytes) -> tuple[list[dict[str, Any]], float]:
    """Faces in one frame, largest first, and the milliseconds it took.

    Raises `InvalidImageError` for bytes that are not a usable image. CPU-bound: call it off
    the event loop, and for one stream at a time.
    """
    started = time.perf_counter()
    faces = faces_largest_first(stream.process(image_bytes))
    return faces, (time.perf_counter() - started) * 1000


def faces_largest_first(results: Iterable[FaceResult]) -> list[dict[str, Any]]:
    """Recognition results as the JSON-ready dicts clients get, the largest face first."""
    faces = [face.to_dict() for face in results]
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


def start_session(*, user: AbstractBaseUser, client_info: Mapping[str, Any] | None = None) -> CaptureSession:
    recognizer.follow_registry()  # in case another process activated a version meanwhile
    return CaptureSession.objects.create(
        user=user, model_version=current_model_label(), client_info=dict(client_info or {})
    )


def update_client_info(*, session: CaptureSession, info: Mapping[str, Any]) -> CaptureSession:
    if info:
        session.client_info = {**session.client_info, **info}
        session.save(update_fields=["client_info"])
    return session


def build_detections(
    *, session_id: int, frame_index: int, offset_ms: int, faces: Sequence[Mapping[str, Any]]
) -> list[Detection]:
    """Unsaved detections for the faces of one frame (face_index 0 is the first face given)."""
    detections = []
    for face_index, face in enumerate(faces):
        x, y, width, height = (max(0, int(v)) for v in face["box"])
        if width == 0 or height == 0:
            continue
        scores = face["scores"]
        detections.append(Detection(
            session_id=session_id, offset_ms=offset_ms, frame_index=frame_index, face_index=face_index,
            x=x, y=y, width=width, height=height, emotion=face["emotion"],
            **{emotion: float(scores[emotion]) for emotion in EMOTIONS},
        ))
    return detections


def record_detections(*, detections: Sequence[Detection]) -> int:
    """Insert detections in bulk; returns how many."""
    Detection.objects.bulk_create(detections, batch_size=500)
    return len(detections)


def count_frames(*, session_id: int, received: int, processed: int, dropped: int) -> bool:
    """Store the session's frame totals so far (absolute numbers, so a repeated write is harmless);
    False if the session no longer exists (its owner deleted it while it was running)."""
    return bool(CaptureSession.objects.filter(pk=session_id).update(
        frames_received=received, frames_processed=processed, frames_dropped=dropped
    ))


def end_session(*, session: CaptureSession) -> CaptureSession:
    """Mark the session ended (a no-op in the database if its owner already deleted it)."""
    session.ended_at = max(timezone.now(), session.started_at)
    CaptureSession.objects.filter(pk=session.pk).update(ended_at=session.ended_at)
    return session


@dataclass
class FlushBatch:
    """What one write stores: new detections and the frame totals."""

    session_id: int
    detections: list[Detection]
    received: int
    processed: int
    dropped: int


def save_batch(batch: FlushBatch) -> int:
    """Write a `FlushBatch` in one transaction; returns the number of detections written (none
    for a session deleted while it ran: its owner asked for its detections to go)."""
    with transaction.atomic():
        # The update first: it locks the session row, so a delete cannot slip in before the insert.
        exists = count_frames(
            session_id=batch.session_id, received=batch.received, processed=batch.processed, dropped=batch.dropped
        )
        return record_detections(detections=batch.detections) if exists else 0


@dataclass
class SessionRecorder:
    """The running state of one live session between writes. Used from one event loop only."""

    session: CaptureSession
    started: float = field(default_factory=time.monotonic)
    received: int = 0
    processed: int = 0
    dropped: int = 0
    faces: int = 0
    pending: list[Detection] = field(default_factory=list)
    dirty: bool = False

    def receive_frame(self) -> tuple[int, int]:
        """Count a new frame; returns its index in the session and its offset in milliseconds."""
        index = self.received
        self.received += 1
        self.dirty = True
        return index, round((time.monotonic() - self.started) * 1000)

    def drop_frame(self) -> None:
        self.dropped += 1
        self.dirty = True

    def add_result(self, frame_index: int, offset_ms: int, faces: Sequence[Mapping[str, Any]]) -> None:
        detections = build_detections(
            session_id=self.session.pk, frame_index=frame_index, offset_ms=offset_ms, faces=faces
        )
        self.pending.extend(detections)
        self.faces += len(detections)
        self.processed += 1
        self.dirty = True

    def take_batch(self) -> FlushBatch | None:
        """Everything not yet written, or None if nothing changed since the last batch."""
        if not self.dirty:
            return None
        batch = FlushBatch(self.session.pk, self.pending, self.received, self.processed, self.dropped)
        self.pending = []
        self.dirty = False
        return batch

    def put_back(self, batch: FlushBatch) -> None:
        """A write failed: keep its detections for the next one, ahead of newer ones."""
        for detection in batch.detections:
            detection.pk = None  # a rolled-back insert may have numbered them
        self.pending[:0] = batch.detections
        self.dirty = True
