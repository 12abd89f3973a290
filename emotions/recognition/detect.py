"""Face detectors: OpenCV's Haar cascade (always available) and YuNet (optional ONNX model).

Both search a downscaled copy of the frame, because detection cost grows with the pixel count,
and map the boxes back to the coordinates of the frame they were given. Callers that know roughly
how large the face is (the stream tracker) pass `min_face`/`max_face`, which lets the detector
shrink the image further and skip most scales.

OpenCV's detector objects keep per-call buffers and are not safe to share between threads, so each
detector keeps one underlying OpenCV object per thread (`threading.local`); loading one is cheap.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

Box = tuple[int, int, int, int]
"""x, y, width, height in pixels of the frame the detector was given."""
Candidate = tuple[int, int, int, int, int, int]
"""Where a coarse pass saw something face-like: left, top, right, bottom, smallest and largest side."""

HAAR_CASCADE_FILE = "haarcascade_frontalface_default.xml"
HAAR_WINDOW = 24  # the cascade's training window: it cannot see faces smaller than this
# Tuned on a 640x480 frame (see the tests): searching a copy whose longest side is 240 px finds
# faces from ~64 px (10% of the longest side) upwards in ~1/7 of the full-frame time; scale steps
# of 1.15 or more, or fewer than 5 neighbours, lost faces or let textures (coins) pass as faces.
HAAR_DETECTION_SIDE = 240
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_NEIGHBORS = 5
# A search without size hints runs in two passes (`HaarFaceDetector.detect`): a coarse pass over
# the downscaled frame with big scale steps that keeps every raw window the cascade accepts
# (candidates, never answers), then the fine search above (scale step 1.1, 5 neighbours) only
# around each candidate, at sizes near the candidate's. Measured on 150 random placements of the
# astronaut in a 640x480 JPEG (faces of 64-100 px): the fine search of the whole frame found 144
# faces in 21 ms (CPU, one thread, a loaded machine); the two passes found 149 in 11 ms (with a
# coarse step of 1.4: 146 in 10.5 ms; 1.25: 145 in 14 ms); no face in scikit-image's photos
# without people, in either.
HAAR_COARSE_SCALE_FACTOR = 1.35
HAAR_CANDIDATE_MARGIN = 0.5  # the fine search extends a candidate by this fraction of its side
HAAR_CANDIDATE_SIZES = (0.8, 1.3)  # ... and looks for faces between these multiples of its side
SAME_FACE_IOU = 0.3  # boxes overlapping more than this are one face
# A search with both size hints looks for a face already seen (the stream tracker, in a region
# around its last box, at sizes near its last size): there, 4 neighbours suffice. Measured on the
# benchmark stream (with the tracker's SIZE_RANGE 0.85-1.2 and SEARCH_MARGIN 0.25): 0.56x of the
# cost of 5 neighbours with 0.75-1.35 and 0.3, the face lost in 5 more frames of 400 (each lost
# face costs a whole-frame search); 3 neighbours let a coin of scikit-image's `coins` pass. A face
# must still pass the whole-frame search (5 neighbours) to be followed at all.
HAAR_FOLLOW_MIN_NEIGHBORS = 4
HAAR_MAX_CANDIDATES = 8  # beyond this many candidate regions, one fine search of the frame is cheaper

YUNET_DETECTION_SIDE = 320  # YuNet finds faces of about 10 to 300 px; beyond that, downscale
YUNET_SCORE_THRESHOLD = 0.9
YUNET_NMS_THRESHOLD = 0.3
YUNET_TOP_K = 5000


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in a BGR (H, W, 3) or grayscale (H, W) uint8 image."""

    #: True when the detector needs colour; the pipeline then decodes frames as BGR, else as gray.
    wants_color: bool

    def detect(self, image: np.ndarray, *, min_face: int | None = None, max_face: int | None = None) -> list[Box]:
        """Face boxes in `image` coordinates; `min_face`/`max_face` (pixels) are optional hints."""
        ...


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def _shrink(image: np.ndarray, scale: float) -> np.ndarray:
    """`image` scaled by `scale` (< 1) with area averaging. Halving first where possible: OpenCV's
    area resize has a fast path for a factor of exactly 2, so 640 -> 320 -> 240 costs ~1/3 of
    640 -> 240 in one step."""
    if scale >= 1.0:
        return image
    width = max(1, round(image.shape[1] * scale))
    height = max(1, round(image.shape[0] * scale))
    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height and image.shape[1] % 2 == 0 \
            and image.shape[0] % 2 == 0:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if image.shape[1] == width and image.shape[0] == height:
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _to_frame_box(x: float, y: float, w: float, h: float, scale: float, shape: tuple[int, ...]) -> Box | None:
    """Map a box found at `scale` back to the frame, clipped to it; None if nothing is left."""
    frame_h, frame_w = shape[:2]
    left = max(0, round(x / scale))
    top = max(0, round(y / scale))
    right = min(frame_w, round((x + w) / scale))
    bottom = min(frame_h, round((y + h) / scale))
    if right - left < 2 or bottom - top < 2:
        return None
    return left, top, right - left, bottom - top


def overlap(first: Box, second: Box) -> float:
    """Intersection over union of two boxes."""
    left, top = max(first[0], second[0]), max(first[1], second[1])
    right = min(first[0] + first[2], second[0] + second[2])
    bottom = min(first[1] + first[3], second[1] + second[3])
    intersection = max(0, right - left) * max(0, bottom - top)
    union = first[2] * first[3] + second[2] * second[3] - intersection
    return intersection / union if union else 0.0


class HaarFaceDetector:
    """OpenCV's frontal-face Haar cascade, run on a downscaled copy of the frame.

    Without hints, the image is shrunk so that its longest side is `detection_side`; the smallest
    face found is then `24 / detection_side` of the longest side. That search runs in two passes:
    a coarse pass with big scale steps proposes candidate regions, and the fine search (the only
    one whose boxes are answers) runs around each candidate with size hints. A face therefore
    counts only where the fine search accepts it, as before, at ~1/2 of the cost of a fine search
    of the whole frame. With `min_face`, the image is shrunk so that `min_face` maps to the
    cascade's 24 px window, which is faster still, and searched in one fine pass.
    """

    wants_color = False

    def __init__(
        self,
        *,
        detection_side: int = HAAR_DETECTION_SIDE,
        scale_factor: float = HAAR_SCALE_FACTOR,
        min_neighbors: int = HAAR_MIN_NEIGHBORS,
        follow_min_neighbors: int = HAAR_FOLLOW_MIN_NEIGHBORS,
        cascade_path: str | Path | None = None,
    ) -> None:
        self.detection_side = detection_side
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.follow_min_neighbors = follow_min_neighbors
        self.cascade_path = str(cascade_path or Path(cv2.data.haarcascades) / HAAR_CASCADE_FILE)
        self._local = threading.local()
        self._cascade()  # fail now, not at the first frame, if the file is missing

    def _cascade(self) -> cv2.CascadeClassifier:
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = cv2.CascadeClassifier(self.cascade_path)
            if cascade.empty():
                raise FileNotFoundError(f"cannot load the Haar cascade {self.cascade_path}")
            self._local.cascade = cascade
        return cascade

    def detect(self, image: np.ndarray, *, min_face: int | None = None, max_face: int | None = None) -> list[Box]:
        gray = to_gray(image)
        if min_face and max_face:
            return self._search(gray, min_face=min_face, max_face=max_face, min_neighbors=self.follow_min_neighbors)
        if min_face or max_face:
            return self._search(gray, min_face=min_face, max_face=max_face)
        return self.confirm(gray, self.propose(gray))

    def search_whole_frame(self, image: np.ndarray) -> list[Box]:
        """The fine search over the whole image, without the coarse pass: about twice the cost of
        `detect`, and what its two passes stand in for (`bench_framing` counts the faces each finds)."""
        return self._search(to_gray(image))

    def propose(self, image: np.ndarray) -> list[Candidate]:
        """The first half of a whole-image search: the coarse pass's candidate regions, for `confirm`
        on this image or, as the stream tracker does to spread the cost, on the next frame."""
        return self._candidates(to_gray(image))

    def confirm(self, image: np.ndarray, candidates: list[Candidate]) -> list[Box]:
        """The second half: the faces that the fine search finds around `candidates`."""
        gray = to_gray(image)
        if len(candidates) > HAAR_MAX_CANDIDATES:
            return self._search(gray)
        boxes: list[Box] = []
        for left, top, right, bottom, smallest, largest in candidates:
            margin = round(HAAR_CANDIDATE_MARGIN * largest)
            x0, y0 = max(0, left - margin), max(0, top - margin)
            found = self._search(
                gray[y0 : bottom + margin, x0 : right + margin],
                min_face=max(HAAR_WINDOW, round(smallest * HAAR_CANDIDATE_SIZES[0])),
                max_face=round(largest * HAAR_CANDIDATE_SIZES[1]),
            )
            for x, y, w, h in found:
                box = (x + x0, y + y0, w, h)
                if all(overlap(box, kept) <= SAME_FACE_IOU for kept in boxes):  # two candidates, one face
                    boxes.append(box)
        return boxes

    def _candidates(self, gray: np.ndarray) -> list[Candidate]:
        """Where the coarse pass saw something face-like, in frame pixels: for each group of
        overlapping raw windows, the rectangle covering them (left, top, right, bottom) and the
        sides of the smallest and largest window."""
        small = _shrink(gray, min(1.0, self.detection_side / max(gray.shape[:2])))
        if min(small.shape[:2]) < HAAR_WINDOW:
            return []
        scale = small.shape[1] / gray.shape[1]
        raw = self._cascade().detectMultiScale(
            small, scaleFactor=HAAR_COARSE_SCALE_FACTOR, minNeighbors=0, minSize=(HAAR_WINDOW, HAAR_WINDOW)
        )
        groups: list[list[int]] = []
        for x, y, w, h in np.asarray(raw).reshape(-1, 4).tolist():
            for group in groups:
                if x < group[2] and group[0] < x + w and y < group[3] and group[1] < y + h:
                    group[:] = [
                        min(group[0], x), min(group[1], y), max(group[2], x + w), max(group[3], y + h),
                        min(group[4], w), max(group[5], w),
                    ]
                    break
            else:
                groups.append([x, y, x + w, y + h, w, w])
        return [tuple(round(value / scale) for value in group) for group in groups]

    def _search(
        self, gray: np.ndarray, *, min_face: int | None = None, max_face: int | None = None,
        min_neighbors: int | None = None,
    ) -> list[Box]:
        """The fine search: the whole of `gray`, at every scale step (see `HAAR_SCALE_FACTOR`)."""
        # With a size hint, shrink until the smallest face wanted fills the cascade's window.
        wanted_scale = HAAR_WINDOW / min_face if min_face else self.detection_side / max(gray.shape[:2])
        small = _shrink(gray, min(1.0, wanted_scale))
        scale = small.shape[1] / gray.shape[1]
        min_size = max(HAAR_WINDOW, round(min_face * scale)) if min_face else HAAR_WINDOW
        max_size = round(max_face * scale) if max_face else 0
        if min(small.shape[:2]) < min_size:
            return []
        found = self._cascade().detectMultiScale(
            small,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors if min_neighbors is None else min_neighbors,
            minSize=(min_size, min_size),
            maxSize=(max_size, max_size) if max_size else (0, 0),
        )
        boxes = (_to_frame_box(*row, scale, gray.shape) for row in np.asarray(found).reshape(-1, 4))
        return [box for box in boxes if box is not None]


class YuNetFaceDetector:
    """OpenCV's YuNet CNN face detector (an ONNX file whose path is configured; not shipped).

    More robust than Haar to pose and light. Frames whose longest side exceeds `detection_side`
    are downscaled first; the size hints only filter results, since YuNet's cost is set by the
    input size alone.
    """

    wants_color = True

    def __init__(
        self,
        model_path: str | Path,
        *,
        detection_side: int = YUNET_DETECTION_SIDE,
        score_threshold: float = YUNET_SCORE_THRESHOLD,
        nms_threshold: float = YUNET_NMS_THRESHOLD,
        top_k: int = YUNET_TOP_K,
    ) -> None:
        self.model_path = str(model_path)
        if not Path(self.model_path).is_file():
            raise FileNotFoundError(f"YuNet model not found: {self.model_path}")
        self.detection_side = detection_side
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self._local = threading.local()
        self._detector((self.detection_side, self.detection_side))

    def _detector(self, input_size: tuple[int, int]) -> cv2.FaceDetectorYN:
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = cv2.FaceDetectorYN.create(
                self.model_path, "", input_size, self.score_threshold, self.nms_threshold, self.top_k
            )
            self._local.detector = detector
            self._local.input_size = input_size
        elif self._local.input_size != input_size:
            detector.setInputSize(input_size)
            self._local.input_size = input_size
        return detector

    def detect(self, image: np.ndarray, *, min_face: int | None = None, max_face: int | None = None) -> list[Box]:
        bgr = to_bgr(image)
        small = _shrink(bgr, min(1.0, self.detection_side / max(bgr.shape[:2])))
        scale = small.shape[1] / bgr.shape[1]
        _, found = self._detector((small.shape[1], small.shape[0])).detect(small)
        boxes = []
        for row in np.zeros((0, 15)) if found is None else found:
            box = _to_frame_box(*row[:4], scale, bgr.shape)
            if box is None:
                continue
            side = max(box[2], box[3])
            if (min_face and side < min_face) or (max_face and side > max_face):
                continue
            boxes.append(box)
        return boxes
