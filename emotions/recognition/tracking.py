"""Who is who across frames: a stable number per face, and its box and probabilities smoothed.

A detector answers each frame afresh: the same still face comes back with a box a few pixels off
each time, and its probabilities wobble between near-ties. `FaceTracks` matches the faces of each
frame to the faces of the frames before (overlap or nearby centres, greedily, best pair first:
O(faces x tracks) arithmetic on a handful of numbers, no image work), keeps each face's number
while it stays in view or is missed for at most `grace_frames` frames, and gives a face that
appears (or comes back later) the next number. For each face it also averages the box and the
probabilities over its last `smoothing_frames` frames, and names its emotion from the averages
with a margin against flicker: the label changes only when another emotion leads the current one
by `LABEL_SWITCH_MARGIN`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emotions.recognition.detect import Box, overlap

MATCH_IOU = 0.3  # a box overlapping a face's last box more than this is that face
# ... or whose centre is within this fraction of the face's last side from its last centre (a face
# that moved fast, or whose box changed size, overlaps little but has not gone far)
MATCH_CENTRE_DISTANCE = 0.5
LABEL_SWITCH_MARGIN = 0.1  # smoothed probability by which another emotion must lead to take the label


@dataclass
class _Track:
    number: int
    boxes: deque[Box]
    probabilities: deque[np.ndarray]
    probability_sum: np.ndarray | None = None  # of the rows in `probabilities` (kept as they come and go)
    label: int = -1
    missed: int = 0  # frames since it was last seen

    @property
    def last_box(self) -> Box:
        return self.boxes[-1]

    def add(self, box: Box, row: np.ndarray | None) -> None:
        self.boxes.append(box)
        if row is None:
            return
        if self.probability_sum is None:
            self.probability_sum = np.zeros_like(row)
        if len(self.probabilities) == self.probabilities.maxlen:
            self.probability_sum -= self.probabilities[0]
        self.probabilities.append(row)
        self.probability_sum += row


@dataclass(frozen=True)
class TrackedBox:
    """One face of a frame as its track sees it: its number, and the smoothed box, probabilities
    (None if none were given) and label (the index of the emotion; -1 without probabilities)."""

    track: int
    box: Box
    probabilities: np.ndarray | None = field(default=None, compare=False)
    label: int = -1


def _centre_distance(first: Box, second: Box) -> float:
    """Distance between the centres of two boxes, in units of the first box's longer side."""
    dx = first[0] + first[2] / 2 - second[0] - second[2] / 2
    dy = first[1] + first[3] / 2 - second[1] - second[3] / 2
    return math.hypot(dx, dy) / max(first[2], first[3], 1)


class FaceTracks:
    """Numbers and smooths the faces of one stream of frames (not thread-safe: one stream, in order).

    `smoothing_frames=1` is no smoothing; `grace_frames=0` ends a track at the first frame that
    misses it. `next_number` is the number the first new face gets (a resumed session continues
    after the numbers it used).
    """

    def __init__(self, *, smoothing_frames: int = 1, grace_frames: int = 0, next_number: int = 1) -> None:
        if smoothing_frames < 1 or grace_frames < 0:
            raise ValueError("smoothing_frames must be at least 1 and grace_frames at least 0")
        self.smoothing_frames = smoothing_frames
        self.grace_frames = grace_frames
        self.next_number = next_number
        self._tracks: list[_Track] = []

    def restart(self, *, next_number: int | None = None) -> None:
        """Forget every face (a new session, or a new capture size); numbering goes on from
        `next_number` if given, else after the last number given."""
        self._tracks = []
        if next_number is not None:
            self.next_number = next_number

    @property
    def live_numbers(self) -> list[int]:
        """The numbers of the faces followed now (seen, or missed for at most `grace_frames`)."""
        return [track.number for track in self._tracks]

    def update(self, boxes: Sequence[Box], probabilities: Sequence[np.ndarray] | np.ndarray | None = None
               ) -> list[TrackedBox]:
        """The next frame's faces, each with its track: one `TrackedBox` per box, in the order given.

        `probabilities`: one row of emotion probabilities per box (or None to number boxes only).
        """
        tracks = self._tracks
        pairs = []
        for index, box in enumerate(boxes):
            for position, track in enumerate(tracks):
                iou = overlap(track.last_box, box)
                distance = _centre_distance(track.last_box, box)
                if iou > MATCH_IOU or distance < MATCH_CENTRE_DISTANCE:
                    pairs.append((-iou, distance, index, position))
        pairs.sort()
        assigned: dict[int, _Track] = {}
        taken: set[int] = set()
        for _, _, index, position in pairs:
            if index not in assigned and position not in taken:
                assigned[index] = tracks[position]
                taken.add(position)
        for position, track in enumerate(tracks):
            if position not in taken:
                track.missed += 1
        self._tracks = [track for track in tracks if track.missed <= self.grace_frames]
        results = []
        for index, box in enumerate(boxes):
            track = assigned.get(index)
            if track is None:
                track = _Track(self.next_number, deque(maxlen=self.smoothing_frames),
                               deque(maxlen=self.smoothing_frames))
                self.next_number += 1
                self._tracks.append(track)
            track.missed = 0
            row = None if probabilities is None else np.asarray(probabilities[index], dtype=np.float64)
            track.add(tuple(int(v) for v in box), row)
            results.append(self._smoothed(track))
        return results

    def _smoothed(self, track: _Track) -> TrackedBox:
        count = len(track.boxes)
        box = tuple(round(sum(past[side] for past in track.boxes) / count) for side in range(4))
        if track.probability_sum is None:
            return TrackedBox(track.number, box)
        mean = track.probability_sum / len(track.probabilities)
        leader = int(mean.argmax())
        if track.label < 0 or mean[leader] - mean[track.label] > LABEL_SWITCH_MARGIN:
            track.label = leader
        return TrackedBox(track.number, box, mean, track.label)
