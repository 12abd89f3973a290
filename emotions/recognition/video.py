"""Video files: checking one before work is spent on it, and analysing it as a stream of frames.

`probe_video` reads the container's header and refuses what cannot or must not be analysed
(not a video, truncated, no video stream, no frames, too long, too many pixels) with a
`VideoError` whose message can be shown to the person who sent the file. `analyse_video`
decodes with `cv2.VideoCapture`, one frame at a time (memory does not grow with the length),
and runs the recognition core's stream tracker over the frames; `tracking.FaceTracks` numbers the
faces (from 1) so that one face keeps one number from frame to frame.
"""

from __future__ import annotations

import itertools
import math
import queue
import resource
import struct
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np

from emotions.recognition.detect import Box
from emotions.recognition.pipeline import FaceResult, RecognitionPipeline
from emotions.recognition.tracking import FaceTracks
from training.core.labels import EMOTIONS

# What the FFmpeg inside OpenCV's wheel reads and people upload: MP4/MOV (ISO base media),
# Matroska/WebM, AVI. Anything else (an image, a document) is "not a video" before FFmpeg
# sees it: FFmpeg would happily open a JPEG as a one-frame video.
MATROSKA_MAGIC = b"\x1a\x45\xdf\xa3"
MP4_INDEX_READ_LIMIT = 64 * 1024 * 1024  # a `moov` index larger than this is not inspected further
# A stream that ends this many frames (or this fraction) before its header said it would is truncated.
TRUNCATION_TOLERANCE_FRAMES = 2
TRUNCATION_TOLERANCE_FRACTION = 0.02
# The stream tracker's full-frame search, which finds faces that enter, runs every this many seconds
# of video (at least every analysed frame): a recording needs no faster answer than a timeline
# with one point a second, and the full search costs as much as ~8 followed frames.
FULL_SEARCH_SECONDS = 0.5
FRAMES_AHEAD = 32  # decoded-and-tracked frames (their crops only) waiting to be classified
CLASSIFY_BATCH_FRAMES = 8  # frames whose faces are classified in one call
TRACK_MEMORY_FRAMES = 15  # a face missed in more analysed frames in a row than this gets a new number if it returns


class VideoError(ValueError):
    """The file cannot be analysed; the message says why, in words fit for its sender."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its video stream."""

    container: str
    width: int
    height: int
    fps: float
    frame_count: int

    @property
    def duration_seconds(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def container_format(head: bytes) -> str | None:
    """"mp4" (also MOV), "matroska" (also WebM) or "avi" from a file's first bytes; None otherwise."""
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mp4"
    if head.startswith(MATROSKA_MAGIC):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    return None


def _mp4_boxes(file: BinaryIO, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload offset, payload size) of the boxes from the current position to `end`."""
    position = file.tell()
    while position + 8 <= end:
        file.seek(position)
        header = file.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            large = file.read(8)
            if len(large) < 8:
                return
            (size,) = struct.unpack(">Q", large)
            header_size = 16
        elif size == 0:
            size = end - position
        if size < header_size:
            return
        yield kind, position + header_size, size - header_size
        position += size


def _mp4_video_samples(path: Path) -> int | None:
    """Frames in the MP4/MOV's first video track, from its index (0 for an index without any
    track: nothing was ever recorded); None if there are tracks but none is video. Raises
    `VideoError` for a file whose index is missing or cut short."""
    size = path.stat().st_size
    with path.open("rb") as file:
        for kind, offset, length in _mp4_boxes(file, size):
            if kind != b"moov":
                continue
            if offset + length > size:
                raise VideoError("the video file is truncated (its index is cut short)")
            file.seek(offset)
            index = file.read(min(length, MP4_INDEX_READ_LIMIT))
            return _video_track_samples(index)
    raise VideoError("the video file is truncated or incomplete (it has no index: was the upload cut short?)")


def _video_track_samples(index: bytes) -> int | None:
    if index.find(b"trak") < 0:
        return 0
    start = 0
    while (trak := index.find(b"trak", start)) >= 0:
        (track_size,) = struct.unpack(">I", index[trak - 4 : trak]) if trak >= 4 else (0,)
        track = index[trak : trak - 4 + max(track_size, 8)]
        start = trak + 4
        handler = track.find(b"hdlr")
        if handler < 0 or track[handler + 12 : handler + 16] != b"vide":
            continue
        sizes = track.find(b"stsz")
        if sizes < 0 or len(track) < sizes + 16:
            return 0
        (count,) = struct.unpack(">I", track[sizes + 12 : sizes + 16])
        return count
    return None


def probe_video(path: str | Path, *, max_pixels: int, max_seconds: float | None = None) -> VideoInfo:
    """The video's size, rate and length, or `VideoError` saying why it cannot be analysed.

    `max_seconds` refuses a video longer than that (None: any length); `max_pixels` refuses frames
    with more pixels than that, before any frame is decoded.
    """
    path = Path(path)
    with path.open("rb") as file:
        head = file.read(16)
    if not head:
        raise VideoError("the file is empty")
    container = container_format(head)
    if container is None:
        raise VideoError("not a video file (MP4, MOV, WebM, MKV or AVI expected)")
    if container == "mp4":
        samples = _mp4_video_samples(path)
        if samples is None:
            raise VideoError("the file has no video stream (only sound?)")
        if samples == 0:
            raise VideoError("the video has no frames")
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise VideoError(f"the {container.upper()} file cannot be read: it is corrupt, truncated, "
                             "or has no video stream")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        frame_count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    finally:
        capture.release()
    if width <= 0 or height <= 0:
        raise VideoError("the file has no video stream")
    if width * height > max_pixels:
        raise VideoError(f"the video is {width}x{height} pixels; the limit is {max_pixels:,} pixels a frame")
    if not math.isfinite(fps) or fps <= 0 or fps > 1000:
        raise VideoError("the video has no usable frame rate")
    frame_count = int(frame_count) if math.isfinite(frame_count) and frame_count > 0 else 0
    if frame_count == 0:
        raise VideoError("the video has no frames")
    info = VideoInfo(container, width, height, fps, frame_count)
    if max_seconds is not None and info.duration_seconds > max_seconds:
        raise VideoError(f"the video lasts {clock(info.duration_seconds)}; the limit is {clock(max_seconds)}")
    return info


def clock(seconds: float) -> str:
    """"1:02:03" or "2:03": a duration for people."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def frames_in_span(frame_count: int, fps: float, max_seconds: float | None) -> int:
    """How many of a video's frames lie within its first `max_seconds` (None: all of them)."""
    if max_seconds is None:
        return frame_count
    return min(frame_count, max(1, math.ceil(max_seconds * fps)))


@dataclass
class VideoFrame:
    """The faces of one analysed frame, each with its track number."""

    index: int  # the frame's position in the video, from 0
    offset_ms: int
    faces: list[tuple[int, FaceResult]] = field(default_factory=list)


def analyse_video(
    path: str | Path,
    pipeline: RecognitionPipeline,
    info: VideoInfo,
    *,
    every: int = 1,
    max_seconds: float | None = None,
) -> Iterator[VideoFrame]:
    """Decode the video frame by frame and yield the faces of every `every`-th frame, up to
    `max_seconds` into the video (None: to the end).

    Two stages overlap: a thread decodes and finds the faces (OpenCV releases the GIL), while the
    caller's thread classifies the faces of up to `CLASSIFY_BATCH_FRAMES` frames in one call. At
    most `FRAMES_AHEAD` frames wait between them, so memory does not grow with the video's length.
    Raises `VideoError` if the stream ends well before the frame count in its header (a truncated
    file) or yields no frame at all.
    """
    if every < 1:
        raise ValueError("every must be at least 1")
    last_frame = frames_in_span(info.frame_count, info.fps, max_seconds)
    tracks = FaceTracks(grace_frames=TRACK_MEMORY_FRAMES)
    tracked = _read_ahead(_track_faces(path, pipeline, info, every=every, last_frame=last_frame), FRAMES_AHEAD)
    try:
        while batch := list(itertools.islice(tracked, CLASSIFY_BATCH_FRAMES)):
            crops = [crop for _, _, crop in batch]
            probabilities = pipeline.classifier.classify(np.concatenate(crops))
            start = 0
            for index, boxes, crop in batch:
                results = pipeline.results(boxes, probabilities[start : start + len(crop)])
                start += len(crop)
                numbers = [tracked.track for tracked in tracks.update(boxes)]
                yield VideoFrame(index, round(index * 1000 / info.fps), list(zip(numbers, results, strict=True)))
    finally:
        tracked.close()  # a caller that stops early stops the decoding thread now, not at garbage collection


def _track_faces(
    path: str | Path, pipeline: RecognitionPipeline, info: VideoInfo, *, every: int, last_frame: int
) -> Iterator[tuple[int, list[Box], np.ndarray]]:
    """(frame index, face boxes, 48x48 crops) of every `every`-th frame up to `last_frame`."""
    stream = pipeline.new_stream(redetect_every=max(1, round(FULL_SEARCH_SECONDS * info.fps / every)))
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    decoded = 0
    try:
        if not capture.isOpened():
            raise VideoError("the video file cannot be read")
        for index in range(last_frame):
            if index % every:
                if not capture.grab():  # decoded but never converted to pixels: cheaper
                    break
                decoded += 1
                continue
            ok, frame = capture.read()
            if not ok:
                break
            decoded += 1
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
            boxes = stream.track(gray)
            yield index, boxes, pipeline.crop_faces(gray, boxes)
    finally:
        capture.release()
    if decoded == 0:
        raise VideoError("the video has no frames that can be decoded")
    missing = last_frame - decoded
    if missing > max(TRUNCATION_TOLERANCE_FRAMES, TRUNCATION_TOLERANCE_FRACTION * last_frame):
        raise VideoError(f"the video file is truncated or corrupt: it ends after {decoded} of its "
                         f"{info.frame_count} frames")


_END = object()


def _read_ahead(items: Iterator, size: int) -> Iterator:
    """The items of `items`, produced by a background thread at most `size` ahead of the reader.

    An exception in the producer is raised in the reader; a reader that stops early (the
    generator is closed) stops the producer too.
    """
    waiting: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as error:  # handed to the reader, which raises it
            put((_END, error))
            return
        finally:
            closer = getattr(items, "close", None)
            if stop.is_set() and closer is not None:
                closer()
        put((_END, None))

    producer = threading.Thread(target=produce, name="video-decode", daemon=True)
    producer.start()
    try:
        while True:
            item, error = waiting.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        producer.join()


class TrackTimelines:
    """Per-face timelines of a video, built frame by frame in memory that grows with the number of
    faces and seconds, not frames: for each track and each second, the mean of each emotion."""

    def __init__(self, bucket_seconds: float = 1.0) -> None:
        self.bucket_seconds = bucket_seconds
        self.frames = 0
        self._tracks: dict[int, dict[int, list[float]]] = {}  # track -> bucket -> [count, *sums]

    def add(self, frame: VideoFrame) -> None:
        self.frames += 1
        bucket = int(frame.offset_ms / 1000 / self.bucket_seconds)
        for track, face in frame.faces:
            sums = self._tracks.setdefault(track, {}).setdefault(bucket, [0.0] * (1 + len(EMOTIONS)))
            sums[0] += 1
            for position, emotion in enumerate(EMOTIONS, start=1):
                sums[position] += face.scores[emotion]

    def to_dict(self) -> dict[str, Any]:
        """{"tracks": [{"track", "frames", "first_second", "last_second", "dominant", "timeline": [
        {"second", "frames", "emotion", "scores"}]}]}, tracks in the order they appeared."""
        tracks = []
        for track, buckets in sorted(self._tracks.items()):
            timeline, totals = [], [0.0] * (1 + len(EMOTIONS))
            for bucket, sums in sorted(buckets.items()):
                scores = {emotion: round(sums[i] / sums[0], 4) for i, emotion in enumerate(EMOTIONS, start=1)}
                timeline.append({"second": round(bucket * self.bucket_seconds, 3), "frames": int(sums[0]),
                                 "emotion": max(scores, key=scores.__getitem__), "scores": scores})
                totals = [a + b for a, b in zip(totals, sums, strict=True)]
            mean = {emotion: totals[i] / totals[0] for i, emotion in enumerate(EMOTIONS, start=1)}
            tracks.append({
                "track": track, "frames": int(totals[0]), "first_second": timeline[0]["second"],
                "last_second": timeline[-1]["second"], "dominant": max(mean, key=mean.__getitem__),
                "timeline": timeline,
            })
        return {"frames_analysed": self.frames, "tracks": tracks}


def peak_rss_mb() -> float:
    """The most memory this process has held so far (resident set size, in MB), as the video
    figures report it."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
