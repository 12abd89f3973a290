"""From image bytes to faces with emotions.

The flow of one frame (`RecognitionPipeline.process`):

1. decode: JPEG/PNG bytes → uint8 pixels (grayscale unless the detector wants colour), refusing
   empty, corrupt, truncated or oversized input with `InvalidImageError`;
2. detect: face boxes (x, y, w, h) from the `FaceDetector`, which searches a downscaled copy;
3. crop: a square around each box, framed like the FER-2013 faces the model learnt from
   (`FER_CROP_SCALE`), padded by repeating the edge where it leaves the frame, resized to 48x48;
4. classify: all crops of the frame in one batched call of the `EmotionClassifier`;
5. results: one `FaceResult` per face (box, top emotion, probabilities of all seven).

A live session sends a stream of similar frames; `RecognitionPipeline.new_stream()` returns a
`StreamTracker` that looks for each face only near where it was in the previous frame, and runs a
full-frame search every few frames or as soon as a face is lost, so new faces still appear. Its
`follow` also numbers the faces across frames and smooths them (`tracking.FaceTracks`): what a
live page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from emotions.recognition.classify import FACE_SIZE, EmotionClassifier
from emotions.recognition.decode import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, decode_image
from emotions.recognition.detect import SAME_FACE_IOU, Box, FaceDetector, overlap, to_gray
from emotions.recognition.tracking import FaceTracks
from training.core.labels import EMOTIONS

# Side of the square crop relative to the longer side of the detector's box, centred on the box.
# Measured, not guessed: running the Haar cascade on 3,000 FER-2013 images (upscaled, edges
# extended) finds a box whose side is 1.02x the FER image's side (median; quartiles 0.96-1.09),
# centred on it; YuNet's taller box has a height of 1.01x the FER side. FER-2013's framing is
# therefore the detector's box itself: brow to chin, the ears just cut.
FER_CROP_SCALE = 1.0

# Stream tracking: where and how to look for a face again in the next frame.
REDETECT_EVERY = 10  # frames between full-frame searches (new faces appear within this many frames)
SEARCH_MARGIN = 0.25  # the search region extends the previous box by this fraction of its side (a face
# moves a few pixels between frames; a wider region costs more on every frame, a loss costs one full search)
SIZE_RANGE = (0.85, 1.2)  # a tracked face may shrink or grow by this much between frames


@dataclass(frozen=True)
class FaceResult:
    """One face found in a frame."""

    box: Box
    emotion: str
    scores: dict[str, float] = field(hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"box": list(self.box), "emotion": self.emotion, "scores": dict(self.scores)}


@dataclass(frozen=True)
class TrackedFace:
    """One face of a live frame: its track number, what this frame found (`raw`, the record), and
    the same face smoothed over its track's last frames (`shown`, what a page draws)."""

    track: int
    raw: FaceResult
    shown: FaceResult

    def to_dict(self) -> dict[str, Any]:
        """The smoothed face, as the live page gets it."""
        return {"track": self.track, **self.shown.to_dict()}

    def raw_dict(self) -> dict[str, Any]:
        """The face as found in this frame, with its track: as it is stored."""
        return {"track": self.track, **self.raw.to_dict()}


def crop_face(gray: np.ndarray, box: Box, *, crop_scale: float = FER_CROP_SCALE) -> np.ndarray:
    """The 48x48 uint8 face for `box`, framed like FER-2013 (see `FER_CROP_SCALE`)."""
    x, y, w, h = box
    side = max(2, round(max(w, h) * crop_scale))
    left = round(x + w / 2 - side / 2)
    top = round(y + h / 2 - side / 2)
    frame_h, frame_w = gray.shape[:2]
    inside = gray[max(0, top) : min(frame_h, top + side), max(0, left) : min(frame_w, left + side)]
    pad_top, pad_left = max(0, -top), max(0, -left)
    pad_bottom = side - pad_top - inside.shape[0]
    pad_right = side - pad_left - inside.shape[1]
    if pad_top or pad_left or pad_bottom or pad_right:
        inside = cv2.copyMakeBorder(inside, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REPLICATE)
    return cv2.resize(inside, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)


def merge_boxes(preferred: list[Box], others: list[Box]) -> list[Box]:
    """`preferred`, then each box of `others` that is not a face already listed."""
    merged: list[Box] = []
    for box in [*preferred, *others]:
        if all(overlap(box, kept) <= SAME_FACE_IOU for kept in merged):
            merged.append(box)
    return merged


class RecognitionPipeline:
    """Decode → detect → crop → classify. Thread-safe: share one per process.

    Live streams may classify with a cheaper `live_classifier` (a model's live variant: the same
    networks without the mirror view, whose averaging the stream's smoothing over frames replaces);
    without one, they use `classifier`. The classifiers can be replaced while frames are processed
    (`swap_classifier`); each frame uses the classifier it started with.
    """

    def __init__(
        self,
        detector: FaceDetector,
        classifier: EmotionClassifier,
        *,
        live_classifier: EmotionClassifier | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.detector = detector
        self.classifier = classifier
        self.live_classifier = live_classifier or classifier
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    def swap_classifier(
        self, classifier: EmotionClassifier, *, live_classifier: EmotionClassifier | None = None
    ) -> EmotionClassifier:
        """Use `classifier` (and `live_classifier`, else `classifier`, for live streams) from now
        on; return the previous `classifier`."""
        previous = self.classifier
        self.classifier, self.live_classifier = classifier, live_classifier or classifier
        return previous

    def decode(self, image_bytes: bytes, *, max_bytes: int | None = None, max_pixels: int | None = None) -> np.ndarray:
        """Pixels of a JPEG/PNG, in the colour mode the detector needs; `InvalidImageError` if bad.

        `max_bytes` and `max_pixels` replace the pipeline's own limits for this image (the API
        accepts photos larger than live frames).
        """
        return decode_image(
            image_bytes,
            max_bytes=self.max_bytes if max_bytes is None else max_bytes,
            max_pixels=self.max_pixels if max_pixels is None else max_pixels,
            grayscale=not getattr(self.detector, "wants_color", False),
        )

    def process(
        self, image_bytes: bytes, *, max_bytes: int | None = None, max_pixels: int | None = None
    ) -> list[FaceResult]:
        """Faces and emotions in one JPEG or PNG image (the limits: as for `decode`)."""
        return self.process_frame(self.decode(image_bytes, max_bytes=max_bytes, max_pixels=max_pixels))

    def process_frame(self, image: np.ndarray) -> list[FaceResult]:
        """Faces and emotions in decoded pixels: BGR (H, W, 3) or grayscale (H, W) uint8."""
        return self.classify_boxes(image, self.detector.detect(image))

    def classify_boxes(self, image: np.ndarray, boxes: list[Box], *, live: bool = False) -> list[FaceResult]:
        """Crop the faces at `boxes` and classify them in one batch (with the live classifier if `live`)."""
        if not boxes:
            return []
        classifier = self.live_classifier if live else self.classifier
        return self.results(boxes, classifier.classify(self.crop_faces(image, boxes)))

    @staticmethod
    def crop_faces(image: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """The 48x48 faces at `boxes`, (N, 48, 48) uint8, ready for `EmotionClassifier.classify`."""
        if not boxes:
            return np.zeros((0, FACE_SIZE, FACE_SIZE), np.uint8)
        gray = to_gray(image)
        return np.stack([crop_face(gray, box) for box in boxes])

    @staticmethod
    def results(boxes: list[Box], probabilities: np.ndarray) -> list[FaceResult]:
        """One `FaceResult` per box from the classifier's rows of probabilities."""
        return [face_result(box, row) for box, row in zip(boxes, probabilities, strict=True)]

    def new_stream(
        self, *, redetect_every: int = REDETECT_EVERY, smoothing_frames: int = 1, grace_frames: int = 0,
        live: bool = False,
    ) -> StreamTracker:
        """State for the frames of one stream (one tracker per stream, not shared); the smoothing
        and grace (in frames) are `FaceTracks`'; a `live` stream classifies with the live classifier."""
        return StreamTracker(self, redetect_every=redetect_every, live=live,
                             tracks=FaceTracks(smoothing_frames=smoothing_frames, grace_frames=grace_frames))


def face_result(box: Box, row: np.ndarray, label: int | None = None) -> FaceResult:
    """A `FaceResult` from a box and a row of probabilities; its emotion is `label` (an index in
    `EMOTIONS`) if given, else the most probable."""
    scores = {emotion: float(value) for emotion, value in zip(EMOTIONS, row, strict=True)}
    return FaceResult(tuple(int(v) for v in box), EMOTIONS[int(np.argmax(row)) if label is None else label], scores)


class StreamTracker:
    """Follows the faces of one live session from frame to frame, to spend less on detection.

    For each frame, each face of the previous frame is looked for in a region around its last
    box (`SEARCH_MARGIN`), at sizes near its last size (`SIZE_RANGE`): a small search. Every
    `redetect_every` frames, and in any frame where a followed face is not found again, the whole
    frame is searched as well, so faces that appear are found within `redetect_every` frames and a
    lost face costs no more than a frame without tracking. With a detector that searches in two
    halves (Haar's `propose`/`confirm`), the periodic search is spread over two frames (the coarse
    pass in one, the fine search around its candidates in the next), so that no frame pays for a
    whole search unless a face was lost. A face counts only where the detector finds it in the
    current frame: nothing is carried over on faith, so no stale or false boxes.

    `follow` (the live path) also gives each face its track number and smoothed box and
    probabilities (`tracks`, a `FaceTracks`); `process` answers each frame on its own.

    Not thread-safe: a session processes its frames one after the other.
    """

    def __init__(
        self, pipeline: RecognitionPipeline, *, redetect_every: int = REDETECT_EVERY,
        tracks: FaceTracks | None = None, live: bool = False,
    ) -> None:
        if redetect_every < 1:
            raise ValueError("redetect_every must be at least 1")
        self.pipeline = pipeline
        self.live = live
        self.redetect_every = redetect_every
        self.tracks = tracks or FaceTracks()
        self.tracked: list[Box] = []
        self.frame_shape: tuple[int, ...] = ()
        self.frames_since_full_search = 0
        self.full_searches = 0
        self.pending: list | None = None  # candidates proposed in the previous frame, confirmed in this one

    def reset(self, *, next_track: int | None = None) -> None:
        """Forget the faces followed (a new session, a resumed one, a new capture size); track
        numbers go on from `next_track` if given, else after the last one given."""
        self.tracked = []
        self.frames_since_full_search = 0
        self.pending = None
        self.tracks.restart(next_number=next_track)

    def follow(self, image_bytes: bytes) -> list[TrackedFace]:
        """The faces of the next JPEG/PNG frame, each with its track and its smoothed view."""
        image = self.pipeline.decode(image_bytes)
        boxes = self.track(image)
        if not boxes:
            self.tracks.update([])
            return []
        classifier = self.pipeline.live_classifier if self.live else self.pipeline.classifier
        probabilities = classifier.classify(self.pipeline.crop_faces(image, boxes))
        followed = self.tracks.update(boxes, probabilities)
        return [
            TrackedFace(tracked.track, face_result(box, row), face_result(tracked.box, tracked.probabilities,
                                                                          tracked.label))
            for box, row, tracked in zip(boxes, probabilities, followed, strict=True)
        ]

    def process(self, image_bytes: bytes) -> list[FaceResult]:
        """Faces and emotions in the next JPEG/PNG frame of the session."""
        return self.process_frame(self.pipeline.decode(image_bytes))

    def process_frame(self, image: np.ndarray) -> list[FaceResult]:
        """Faces and emotions in the next decoded frame of the session."""
        return self.pipeline.classify_boxes(image, self.track(image), live=self.live)

    def track(self, image: np.ndarray) -> list[Box]:
        """The face boxes of the next decoded frame of the session (detection only)."""
        if image.shape[:2] != self.frame_shape:  # a new capture size: old boxes mean nothing here
            self.reset()
            self.frame_shape = image.shape[:2]
        detector = self.pipeline.detector
        followed = [box for box in (self._search_near(image, box) for box in self.tracked) if box is not None]
        lost_one = len(followed) < len(self.tracked)
        # A detector that searches in two halves (Haar: propose, then confirm) spreads the periodic
        # full search over two frames: the coarse pass one frame before it is due, the fine search
        # around its candidates in the frame it is due, so no frame pays for both.
        spread = self.redetect_every >= 2 and hasattr(detector, "propose") and hasattr(detector, "confirm")
        if not self.tracked or lost_one:  # something to find now: the whole search in this frame
            boxes = merge_boxes(detector.detect(image), followed)
            self._searched()
        elif self.pending is not None:
            boxes = merge_boxes(detector.confirm(image, self.pending), followed)
            self._searched()
        elif spread and self.frames_since_full_search + 2 >= self.redetect_every:
            self.pending = detector.propose(image)
            boxes = merge_boxes(followed, [])
            self.frames_since_full_search += 1
        elif not spread and self.frames_since_full_search + 1 >= self.redetect_every:
            boxes = merge_boxes(detector.detect(image), followed)
            self._searched()
        else:
            boxes = merge_boxes(followed, [])
            self.frames_since_full_search += 1
        self.tracked = boxes
        return boxes

    def _searched(self) -> None:
        self.pending = None
        self.frames_since_full_search = 0
        self.full_searches += 1

    def _search_near(self, image: np.ndarray, box: Box) -> Box | None:
        """The face nearest to `box` in a padded region around it, or None if it is not there."""
        x, y, w, h = box
        side = max(w, h)
        margin = round(SEARCH_MARGIN * side)
        frame_h, frame_w = image.shape[:2]
        left, top = max(0, x - margin), max(0, y - margin)
        right, bottom = min(frame_w, x + w + margin), min(frame_h, y + h + margin)
        region = image[top:bottom, left:right]
        if region.size == 0:
            return None
        found = self.pipeline.detector.detect(
            region, min_face=round(side * SIZE_RANGE[0]), max_face=round(side * SIZE_RANGE[1])
        )
        if not found:
            return None
        centre_x, centre_y = x + w / 2 - left, y + h / 2 - top
        nearest = min(found, key=lambda f: (f[0] + f[2] / 2 - centre_x) ** 2 + (f[1] + f[3] / 2 - centre_y) ** 2)
        return nearest[0] + left, nearest[1] + top, nearest[2], nearest[3]
