"""The whole recognition pipeline on FER-2013 faces set into camera frames (`manage.py bench_framing`).

`evaluate` scores the network on FER-2013's own 48x48 crops. Users' faces arrive in camera frames,
where the detector finds the face and the pipeline crops it; if that crop were framed differently
from FER-2013's (more forehead, less chin), accuracy would fall without any test noticing. Here
each face of a split is enlarged, given a border of its own edge pixels (the detector wants some
context beyond FER-2013's tight crop), set into a 640x480 frame, JPEG-encoded and sent through
`RecognitionPipeline.process`, exactly as a still image from a user is. The result is compared
with the same classifier on the original crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bench.frames import FRAME_SIZE, encode_jpeg
from emotions.recognition.detect import Box, overlap
from emotions.recognition.pipeline import RecognitionPipeline
from training.core.labels import EMOTIONS

FACE_SIDE = 144  # the face in the frame, in pixels (FER-2013's 48 px, 3x): a face at arm's length
CONTEXT = 0.5  # the border around the face, as a fraction of its side, filled with its edge pixels
MATCHING_IOU = 0.3  # a detection counts as the face if it overlaps the face's square this much


@dataclass(frozen=True)
class FramingResult:
    faces: int
    found: int  # faces the pipeline found where they were put
    correct_in_frames: int  # found and labelled as FER-2013 labels them
    correct_on_crops: int  # the classifier alone on FER-2013's 48x48 crops, for comparison
    correct_on_crops_of_found: int  # ... on the crops of the faces the pipeline found: the same faces
    extra_detections: int  # detections elsewhere in the frames (false faces)
    # faces the detector's fine search of the whole frame finds, where it has one (Haar): what the
    # cascade could find without the coarse pass that makes `detect` fast
    found_by_whole_frame_search: int | None = None

    def as_dict(self) -> dict:
        return {
            "faces": self.faces, "found": self.found, "found_rate": round(self.found / self.faces, 4),
            "accuracy_in_frames": round(self.correct_in_frames / self.faces, 4),
            "accuracy_of_found": round(self.correct_in_frames / max(1, self.found), 4),
            "accuracy_on_crops": round(self.correct_on_crops / self.faces, 4),
            "accuracy_on_crops_of_found": round(self.correct_on_crops_of_found / max(1, self.found), 4),
            "extra_detections": self.extra_detections,
            "found_by_whole_frame_search": self.found_by_whole_frame_search,
        }


def face_in_frame(face: np.ndarray, *, side: int = FACE_SIDE, position: tuple[int, int] | None = None
                  ) -> tuple[np.ndarray, Box]:
    """A grey 48x48 face enlarged to `side`, bordered by its own edges, on a 640x480 grey frame;
    the frame (BGR) and where the face's square is in it."""
    width, height = FRAME_SIZE
    enlarged = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    margin = round(CONTEXT * side)
    bordered = cv2.copyMakeBorder(enlarged, margin, margin, margin, margin, cv2.BORDER_REPLICATE)
    frame = np.full((height, width), 120, np.uint8)
    left, top = position or ((width - bordered.shape[1]) // 2, (height - bordered.shape[0]) // 2)
    frame[top:top + bordered.shape[0], left:left + bordered.shape[1]] = bordered
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), (left + margin, top + margin, side, side)


def run_framing(pipeline: RecognitionPipeline, pixels: np.ndarray, labels: np.ndarray, *,
                side: int = FACE_SIDE) -> FramingResult:
    """Send every face through the pipeline in a frame of its own; count what it finds and labels."""
    found = np.zeros(len(labels), bool)
    correct = extra = 0
    whole_frame_search = getattr(pipeline.detector, "search_whole_frame", None)
    found_by_whole_frame_search = 0
    for index, (face, label) in enumerate(zip(pixels, labels, strict=True)):
        frame, truth = face_in_frame(face, side=side)
        image = pipeline.decode(encode_jpeg(frame, quality=90))  # as `process` decodes it, once for both searches
        results = pipeline.process_frame(image)
        if whole_frame_search is not None:
            boxes = whole_frame_search(image)
            found_by_whole_frame_search += any(overlap(box, truth) >= MATCHING_IOU for box in boxes)
        matching = [result for result in results if overlap(result.box, truth) >= MATCHING_IOU]
        extra += len(results) - len(matching)
        if matching:
            found[index] = True
            best = max(matching, key=lambda result: overlap(result.box, truth))
            correct += best.emotion == EMOTIONS[int(label)]
    right_on_crops = pipeline.classifier.classify(pixels).argmax(axis=1) == labels
    return FramingResult(faces=len(labels), found=int(found.sum()), correct_in_frames=correct,
                         correct_on_crops=int(right_on_crops.sum()),
                         correct_on_crops_of_found=int(right_on_crops[found].sum()), extra_detections=extra,
                         found_by_whole_frame_search=found_by_whole_frame_search if whole_frame_search else None)
