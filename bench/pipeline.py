"""Timing the recognition pipeline on synthetic camera frames (`manage.py bench_pipeline`)."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from bench.frames import FRAME_SIZE, astronaut_bgr, independent_frames, stream_frames
from emotions.recognition.detect import HaarFaceDetector
from emotions.recognition.pipeline import RecognitionPipeline
from emotions.recognition.video import peak_rss_mb

WARM_UP_CALLS = 5

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


def _median(values: Sequence[float]) -> float:
    return round(float(np.median(values)), 3)


def _p95(values: Sequence[float]) -> float:
    return round(float(np.percentile(values, 95)), 3)


def _face_counts(results: Sequence[list]) -> dict[str, int]:
    """How many frames had 0, 1, 2... faces, e.g. {"1": 500}."""
    return {str(faces): frames for faces, frames in sorted(Counter(len(r) for r in results).items())}


def frame_stages(pipeline: RecognitionPipeline, frames: Sequence[bytes]) -> dict[str, float]:
    """Where an independent frame's time goes: each step of `pipeline.process`, timed on its own
    over the same frames (medians). The two detection passes only for a detector that has them."""
    images, _ = time_each(pipeline.decode, frames)
    decoded = [pipeline.decode(frame) for frame in frames]
    stages = {"decode": _median(images)}
    detector = pipeline.detector
    if hasattr(detector, "propose") and hasattr(detector, "confirm"):
        coarse_ms, candidates = time_each(detector.propose, decoded)
        fine_ms, _ = time_each(lambda pair: detector.confirm(*pair), list(zip(decoded, candidates, strict=True)))
        stages.update({"detect_coarse": _median(coarse_ms), "detect_fine": _median(fine_ms)})
    else:
        detect_ms, _ = time_each(detector.detect, decoded)
        stages["detect"] = _median(detect_ms)
    boxes = [detector.detect(image) for image in decoded]
    crop_ms, crops = time_each(lambda pair: pipeline.crop_faces(*pair), list(zip(decoded, boxes, strict=True)))
    classify_ms, _ = time_each(pipeline.classifier.classify, crops)
    stages.update({"crop": _median(crop_ms), "classify": _median(classify_ms)})
    return stages


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
    # What live sessions classify with: the model's live variant, or the model itself without one.
    live_classify_ms, _ = time_each(pipeline.live_classifier.classify,
                                    [rng.integers(0, 256, (1, 48, 48), dtype=np.uint8) for _ in range(frames)])

    stages = frame_stages(pipeline, [variants[i % len(variants)] for i in range(frames)])

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
        "live_classify_1_ms_median": _median(live_classify_ms),
        "haar_full_frame_ms_median": _median(haar_full_ms),
        "frame_stages_ms_median": stages,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "faces_found_per_frame": {"frame": _face_counts(frame_results), "stream": _face_counts(stream_results)},
        "detector": type(pipeline.detector).__name__,
        "model": str(pipeline.classifier.model_path),
        "live_model": str(pipeline.live_classifier.model_path),
        "classifier_threads": pipeline.classifier.num_threads,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
