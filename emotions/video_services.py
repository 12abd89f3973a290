"""Writes for video analysis: receiving an uploaded video, and analysing it into a session.

A video becomes a `CaptureSession` of kind `video` with a `VideoAnalysis` beside it. Refusals
come as early as they can: size at upload, then the container's header (`probe_video`) before
the job is queued. A failure during the analysis (a truncated file noticed at its end, a crash)
leaves the session **failed, with the reason, and without detections**: the detections written
in batches along the way are deleted, so nothing half-analysed is browsable as a result. The
file is deleted when the analysis ends, however it ends, unless the user asked to keep it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from emotions import active_model
from emotions.models import CaptureSession, Detection, VideoAnalysis
from emotions.recognition.video import (
    VideoError,
    VideoFrame,
    VideoInfo,
    analyse_video,
    clock,
    frames_in_span,
    probe_video,
)
from emotions.services import build_detections, save_video_detections

logger = logging.getLogger(__name__)

FILE_NAME_MAX = VideoAnalysis._meta.get_field("file_name").max_length
FLUSH_SECONDS = 1.0  # detections and progress are written at least this often while a video runs
FLUSH_FRAMES = 500  # ... and at least every this many analysed frames
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"})


class VideoTooLarge(VideoError):
    """The file is larger than `VIDEO_MAX_BYTES`."""


class UploadedFile(Protocol):
    name: str
    size: int

    def chunks(self) -> Iterable[bytes]: ...


@dataclass(frozen=True)
class VideoOptions:
    """What the user may choose: analyse every Nth frame, stop after some seconds, keep the file."""

    every: int = 1
    max_seconds: float | None = None
    keep_file: bool = False

    def __post_init__(self) -> None:
        if self.every < 1:
            raise VideoError("every must be at least 1")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise VideoError("max_seconds must be more than 0")


def video_max_bytes() -> int:
    return settings.VIDEO_MAX_BYTES


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def check_size(size: int) -> None:
    """`VideoTooLarge` for a file over `VIDEO_MAX_BYTES`."""
    if size > video_max_bytes():
        raise VideoTooLarge(f"the video is {_megabytes(size)}; the limit is {_megabytes(video_max_bytes())}")


def check_video(path: Path, options: VideoOptions) -> VideoInfo:
    """The file's `VideoInfo`, or `VideoError` if it must be refused (the limits come from settings;
    a long video passes when only its first `max_seconds`, within the limit, are to be analysed)."""
    info = probe_video(path, max_pixels=settings.VIDEO_MAX_PIXELS)
    span = info.duration_seconds if options.max_seconds is None else min(info.duration_seconds, options.max_seconds)
    if span > settings.VIDEO_MAX_SECONDS:
        raise VideoError(f"the video lasts {clock(span)}; at most {clock(settings.VIDEO_MAX_SECONDS)} can be "
                         "analysed (choose a maximum duration)")
    return info


def _store_upload(upload: UploadedFile) -> Path:
    folder = Path(settings.VIDEO_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.name or "").suffix.lower()
    path = folder / f"{uuid.uuid4().hex}{suffix if suffix in VIDEO_SUFFIXES else '.video'}"
    written = 0
    with path.open("wb") as out:
        for chunk in upload.chunks():
            written += len(chunk)
            if written > video_max_bytes():  # the declared size lied
                out.close()
                path.unlink(missing_ok=True)
                check_size(written)
            out.write(chunk)
    return path


def receive_video(*, user: AbstractBaseUser, upload: UploadedFile, options: VideoOptions) -> VideoAnalysis:
    """Store an uploaded video, check it, and queue its analysis; `VideoError` (nothing stored) if
    it is refused."""
    check_size(upload.size)
    path = _store_upload(upload)
    try:
        info = check_video(path, options)
    except VideoError:
        path.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        session = CaptureSession.objects.create(
            user=user, kind=CaptureSession.Kind.VIDEO, model_label=active_model.current_model_label(),
            client_info={"frame_size": [info.width, info.height]},
        )
        analysis = VideoAnalysis.objects.create(
            session=session, file_name=Path(upload.name or "video").name[:FILE_NAME_MAX], stored_path=str(path),
            keep_file=options.keep_file, size_bytes=path.stat().st_size, container=info.container,
            width=info.width, height=info.height, fps=info.fps, frame_count=info.frame_count,
            duration_seconds=info.duration_seconds, every=options.every, max_seconds=options.max_seconds,
        )
        transaction.on_commit(partial(_send_to_worker, analysis.pk))
    return analysis


def _send_to_worker(analysis_id: int) -> None:
    from emotions.tasks import analyse_video_task

    queue = settings.VIDEO_QUEUE
    try:
        analyse_video_task.apply_async(args=(analysis_id,), **({"queue": queue} if queue else {}))
    except Exception as exc:
        logger.exception("Could not queue video analysis %s", analysis_id)
        _fail(analysis_id, f"could not reach the task queue: {exc}")


def _claim(analysis_id: int) -> VideoAnalysis | None:
    """Mark the analysis running; None if there is nothing to do (done, failed or deleted).
    A redelivered job (its worker died) starts again from the beginning."""
    with transaction.atomic():
        analysis = (VideoAnalysis.objects.select_for_update().select_related("session")
                    .filter(pk=analysis_id).first())
        if analysis is None or analysis.state in (VideoAnalysis.State.DONE, VideoAnalysis.State.FAILED):
            return None
        Detection.objects.filter(session=analysis.session).delete()
        analysis.state, analysis.progress, analysis.error = VideoAnalysis.State.RUNNING, 0.0, ""
        analysis.save(update_fields=["state", "progress", "error"])
        return analysis


def frames_to_analyse(analysis: VideoAnalysis) -> int:
    last = frames_in_span(analysis.frame_count, analysis.fps, analysis.max_seconds)
    return max(1, -(-last // analysis.every))


def detections_of(session_id: int, frame: VideoFrame) -> list[Detection]:
    """Unsaved detections of one video frame: the largest face first, each with its track."""
    faces = sorted(frame.faces, key=lambda pair: pair[1].box[2] * pair[1].box[3], reverse=True)
    detections = build_detections(session_id=session_id, frame_index=frame.index, offset_ms=frame.offset_ms,
                                  faces=[result.to_dict() for _, result in faces])
    for detection, (track, _) in zip(detections, faces, strict=True):
        detection.track = track
    return detections


def run_video_analysis(analysis_id: int) -> VideoAnalysis | None:
    """Analyse the video of one `VideoAnalysis` (called by the Celery task); None if skipped."""
    analysis = _claim(analysis_id)
    if analysis is None:
        return None
    session = analysis.session
    started = time.monotonic()
    try:
        active_model.follow_registry()
        pipeline = active_model.get_pipeline()
        options = VideoOptions(every=analysis.every, max_seconds=analysis.max_seconds)
        info = check_video(Path(analysis.stored_path), options)
        total = frames_to_analyse(analysis)
        analysed, pending, last_flush = 0, [], time.monotonic()
        for frame in analyse_video(analysis.stored_path, pipeline, info, every=options.every,
                                   max_seconds=options.max_seconds):
            analysed += 1
            pending.extend(detections_of(session.pk, frame))
            if analysed % FLUSH_FRAMES == 0 or time.monotonic() - last_flush >= FLUSH_SECONDS:
                if not _flush(analysis, pending, analysed, total):
                    return None  # the user deleted the session meanwhile: stop
                pending, last_flush = [], time.monotonic()
        if not _flush(analysis, pending, analysed, total):
            return None
    except VideoError as error:
        return _fail(analysis.pk, str(error))
    except FileNotFoundError:
        return _fail(analysis.pk, "the uploaded file is no longer there")
    except Exception:
        logger.exception("Video analysis %s failed", analysis.pk)
        return _fail(analysis.pk, "the analysis failed on the server")
    elapsed = max(time.monotonic() - started, 1e-6)
    now = timezone.now()
    analysis.state, analysis.progress, analysis.finished_at = VideoAnalysis.State.DONE, 1.0, now
    analysis.frames_per_second = round(analysed * analysis.every / elapsed, 1)
    analysis.save(update_fields=["state", "progress", "finished_at", "frames_per_second"])
    CaptureSession.objects.filter(pk=session.pk).update(ended_at=max(now, session.started_at))
    _discard_file(analysis)
    return analysis


def _flush(analysis: VideoAnalysis, detections: list[Detection], analysed: int, total: int) -> bool:
    """Write detections, frame counts and progress; False if the session no longer exists."""
    with transaction.atomic():
        exists = save_video_detections(session_id=analysis.session_id, detections=detections, analysed=analysed)
        if exists:
            VideoAnalysis.objects.filter(pk=analysis.pk).update(progress=min(1.0, analysed / total))
    if not exists:
        _discard_file(analysis)
    return exists


def _fail(analysis_id: int, reason: str) -> VideoAnalysis | None:
    """Mark the analysis failed with `reason` and remove what it had stored."""
    with transaction.atomic():
        analysis = VideoAnalysis.objects.select_for_update().select_related("session").filter(pk=analysis_id).first()
        if analysis is None:
            return None
        Detection.objects.filter(session=analysis.session).delete()
        now = timezone.now()
        analysis.state, analysis.error, analysis.finished_at = VideoAnalysis.State.FAILED, reason, now
        analysis.save(update_fields=["state", "error", "finished_at"])
        CaptureSession.objects.filter(pk=analysis.session_id).update(
            ended_at=max(now, analysis.session.started_at), frames_received=0, frames_processed=0)
    _discard_file(analysis)
    return analysis


def _discard_file(analysis: VideoAnalysis) -> None:
    if analysis.keep_file or not analysis.stored_path:
        return
    Path(analysis.stored_path).unlink(missing_ok=True)
    VideoAnalysis.objects.filter(pk=analysis.pk).update(stored_path="")
    analysis.stored_path = ""


def stored_video_files(session_ids: Iterable[int]) -> list[Path]:
    """The video files (kept ones too) of these sessions, to remove when the sessions are deleted."""
    paths = VideoAnalysis.objects.filter(session_id__in=list(session_ids)).exclude(stored_path="")
    return [Path(path) for path in paths.values_list("stored_path", flat=True)]


def remove_files(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
