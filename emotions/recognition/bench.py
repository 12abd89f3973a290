"""Timing the recognition pipeline on synthetic camera frames (used by `manage.py bench_pipeline`).

The frames show scikit-image's astronaut photo (a real face, public domain) on a plain
640x480 background. scikit-image is a development dependency, imported only when frames are made.
"""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from emotions.recognition.detect import HaarFaceDetector
from emotions.recognition.pipeline import RecognitionPipeline

FRAME_SIZE = (640, 480)  # width, height: a webcam frame
PHOTO_SIDE = 420  # the astronaut photo is scaled to this; her face is then about 80 px wide
JPEG_QUALITY = 85
WARM_UP_CALLS = 5
POSITIONS = 8  # independent frames: the photo at this many positions, each encoded once


def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut photo (512x512, one frontal face) as BGR uint8."""
    try:
        from skimage import data
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError("the benchmark frames need scikit-image (see requirements-dev.txt)") from error
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def place_in_frame(
    photo: np.ndarray,
    left: int,
    top: int,
    *,
    side: int = PHOTO_SIDE,
    frame_size: tuple[int, int] = FRAME_SIZE,
    frame: np.ndarray | None = None,
) -> np.ndarray:
    """`photo` scaled to `side` x `side` and pasted at (left, top) on a grey frame (or on `frame`)."""
    width, height = frame_size
    if frame is None:
        # A soft horizontal gradient rather than a flat colour, like a wall in a room.
        row = np.linspace(90, 150, width, dtype=np.float32)
        frame = np.repeat(np.tile(row, (height, 1))[..., None], 3, axis=2).astype(np.uint8)
    else:
        frame = frame.copy()
    scaled = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
    right, bottom = min(width, left + side), min(height, top + side)
    frame[top:bottom, left:right] = scaled[: bottom - top, : right - left]
    return frame


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return encoded.tobytes()


def independent_frames(photo: np.ndarray, count: int = POSITIONS) -> list[bytes]:
    """JPEG frames with the photo at `count` different positions, spread over the frame."""
    width, height = FRAME_SIZE
    frames = []
    for index in range(count):
        fraction = index / max(1, count - 1)
        left = round(20 + fraction * (width - PHOTO_SIDE - 40))
        top = round(10 + (index % 3) / 2 * (height - PHOTO_SIDE - 20))
        frames.append(encode_jpeg(place_in_frame(photo, left, top)))
    return frames


def moving_face_positions(count: int) -> list[tuple[int, int]]:
    """A smooth path of the photo's top-left corner: at most ~3 px per frame, like a person
    shifting in front of a webcam."""
    width, height = FRAME_SIZE
    centre_x, centre_y = (width - PHOTO_SIDE) // 2, (height - PHOTO_SIDE) // 2
    amplitude_x, amplitude_y = 90, 25
    return [
        (
            round(centre_x + amplitude_x * math.sin(2 * math.pi * index / 200)),
            round(centre_y + amplitude_y * math.sin(2 * math.pi * index / 130)),
        )
        for index in range(count)
    ]


def stream_frames(photo: np.ndarray, count: int) -> list[bytes]:
    return [encode_jpeg(place_in_frame(photo, left, top)) for left, top in moving_face_positions(count)]


def time_each(function: Callable[[Any], Any], items: Sequence[Any]) -> tuple[list[float], list[Any]]:
    """Milliseconds per call of `function(item)` (after a few untimed calls), and the results."""
    for item in items[:WARM_UP_CALLS]:
        function(item)
    durations, results = [], []
    for item in items:
        start = time.perf_counter()
        results.append(function(item))
        durations.append((time.perf_counter() - start) * 1000)
    return durations, results


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _median(values: Sequence[float]) -> float:
    return round(float(np.median(values)), 3)


def _p95(values: Sequence[float]) -> float:
    return round(float(np.percentile(values, 95)), 3)


def _face_counts(results: Sequence[list]) -> dict[str, int]:
    """How many frames had 0, 1, 2... faces, e.g. {"1": 500}."""
    return {str(faces): frames for faces, frames in sorted(Counter(len(r) for r in results).items())}


def run_benchmark(
    pipeline: RecognitionPipeline, *, frames: int = 500, log: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Measure the pipeline; return the figures as a JSON-ready dict (times in milliseconds)."""
    photo = astronaut_bgr()

    log(f"(a) {frames} independent 640x480 JPEG frames, no state between frames")
    variants = independent_frames(photo)
    frame_ms, frame_results = time_each(pipeline.process, [variants[i % len(variants)] for i in range(frames)])

    log(f"(b) a {frames}-frame stream of a moving face, through a stream tracker")
    encoded_stream = stream_frames(photo, frames + WARM_UP_CALLS)
    stream = pipeline.new_stream(live=True)  # as a live session: with the model's live variant, if it has one
    for jpeg in encoded_stream[:WARM_UP_CALLS]:
        stream.process(jpeg)  # the tracker warms up on the path's first frames, then is timed on the rest
    searches_before = stream.full_searches
    stream_ms, stream_results = [], []
    for jpeg in encoded_stream[WARM_UP_CALLS:]:
        start = time.perf_counter()
        stream_results.append(stream.process(jpeg))
        stream_ms.append((time.perf_counter() - start) * 1000)

    log(f"(c) the classifier alone, {frames} calls each for 1 and 8 faces")
    rng = np.random.default_rng(0)
    classify_ms = {}
    for count in (1, 8):
        batches = [rng.integers(0, 256, (count, 48, 48), dtype=np.uint8) for _ in range(frames)]
        classify_ms[count], _ = time_each(pipeline.classifier.classify, batches)

    # For reading the figures: the cost of Haar on a whole 640x480 frame on this machine, right now.
    reference_frames = [cv2.imdecode(np.frombuffer(v, np.uint8), cv2.IMREAD_GRAYSCALE) for v in variants]
    full_frame_haar = HaarFaceDetector(detection_side=max(FRAME_SIZE))
    haar_full_ms, _ = time_each(full_frame_haar.detect, reference_frames * 3)

    return {
        "frames": frames,
        "frame_ms_median": _median(frame_ms),
        "frame_ms_p95": _p95(frame_ms),
        "stream_ms_median": _median(stream_ms),
        "stream_ms_p95": _p95(stream_ms),
        "stream_full_searches": stream.full_searches - searches_before,
        "classify_1_ms_median": _median(classify_ms[1]),
        "classify_8_ms_median": _median(classify_ms[8]),
        "haar_full_frame_ms_median": _median(haar_full_ms),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "faces_found_per_frame": {"frame": _face_counts(frame_results), "stream": _face_counts(stream_results)},
        "detector": type(pipeline.detector).__name__,
        "model": str(pipeline.classifier.model_path),
        "classifier_threads": pipeline.classifier.num_threads,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
