import numpy as np
import pytest

from emotions.recognition import EMOTIONS
from emotions.recognition.tracking import FaceTracks

HAPPY, SAD = EMOTIONS.index("happy"), EMOTIONS.index("sad")


def probabilities(**values: float) -> np.ndarray:
    """A row of the seven probabilities: the named ones, the rest shared evenly."""
    row = np.zeros(len(EMOTIONS))
    for emotion, value in values.items():
        row[EMOTIONS.index(emotion)] = value
    rest = [i for i, emotion in enumerate(EMOTIONS) if emotion not in values]
    row[rest] = (1 - sum(values.values())) / len(rest)
    return row


def numbers(tracks: FaceTracks, boxes) -> list[int]:
    return [tracked.track for tracked in tracks.update(boxes)]


def test_two_faces_keep_their_numbers_over_50_frames_while_one_moves():
    tracks = FaceTracks(smoothing_frames=5, grace_frames=5)
    rng = np.random.default_rng(0)
    for frame in range(50):
        still = tuple(int(v) for v in (400 + rng.integers(-6, 7), 200 + rng.integers(-6, 7), 96, 96))
        moving = (20 + 6 * frame, 60 + frame, 90 + frame % 7, 90 + frame % 7)  # also grows and shrinks
        order = [moving, still] if frame % 3 else [still, moving]  # the detector's order changes
        expected = [2, 1] if frame % 3 else [1, 2]  # the still face was listed first in frame 0
        assert numbers(tracks, order) == expected, frame
    assert tracks.live_numbers == [1, 2]


def test_numbers_start_at_1_and_a_new_face_gets_the_next():
    tracks = FaceTracks()
    assert numbers(tracks, [(0, 0, 50, 50), (200, 0, 50, 50)]) == [1, 2]
    assert numbers(tracks, [(203, 2, 50, 50), (2, 1, 50, 50)]) == [2, 1]  # order swapped, numbers kept
    assert numbers(tracks, [(203, 2, 50, 50), (2, 1, 50, 50), (400, 0, 50, 50)]) == [2, 1, 3]


def test_a_face_missed_within_the_grace_period_keeps_its_number_and_after_it_gets_a_new_one():
    tracks = FaceTracks(grace_frames=3)
    assert numbers(tracks, [(100, 100, 80, 80)]) == [1]
    for _ in range(3):
        assert numbers(tracks, []) == []
    assert numbers(tracks, [(104, 98, 80, 80)]) == [1]  # missed 3 frames: still face 1
    for _ in range(4):
        numbers(tracks, [])
    assert tracks.live_numbers == []
    assert numbers(tracks, [(104, 98, 80, 80)]) == [2]  # gone longer than the grace period: a new face


def test_a_fast_move_is_matched_by_centre_distance_and_a_far_jump_is_not():
    tracks = FaceTracks()
    numbers(tracks, [(100, 100, 100, 100)])
    assert numbers(tracks, [(140, 100, 100, 100)]) == [1]  # IoU 0.43
    assert numbers(tracks, [(195, 130, 70, 70)]) == [1]  # IoU 0.27 (it shrank), centre 0.43 sides away
    assert numbers(tracks, [(400, 110, 100, 100)]) == [2]


def test_restart_forgets_faces_and_numbering_goes_on():
    tracks = FaceTracks()
    numbers(tracks, [(0, 0, 50, 50), (200, 0, 50, 50)])
    tracks.restart()
    assert numbers(tracks, [(0, 0, 50, 50)]) == [3]
    tracks.restart(next_number=8)  # a resumed session whose highest number was 7
    assert numbers(tracks, [(0, 0, 50, 50)]) == [8]


def test_smoothing_reduces_the_jitter_of_a_still_face():
    rng = np.random.default_rng(1)
    raw = [(200 + int(rng.integers(-15, 16)), 150 + int(rng.integers(-15, 16)), 100, 100) for _ in range(60)]
    smoothed = FaceTracks(smoothing_frames=5)
    unsmoothed = FaceTracks(smoothing_frames=1)
    shown = [smoothed.update([box])[0].box for box in raw]
    as_found = [unsmoothed.update([box])[0].box for box in raw]
    assert as_found == raw  # one frame: no smoothing
    raw_spread = np.std(np.array(raw)[10:, :2], axis=0)
    shown_spread = np.std(np.array(shown)[10:, :2], axis=0)
    assert all(shown_spread < raw_spread * 0.6), (shown_spread, raw_spread)
    assert {box[2] for box in shown} == {100}


def test_smoothed_probabilities_are_the_mean_of_the_window():
    tracks = FaceTracks(smoothing_frames=2)
    box = (10, 10, 60, 60)
    tracks.update([box], [probabilities(happy=0.9)])
    (tracked,) = tracks.update([box], [probabilities(happy=0.5)])
    assert tracked.probabilities[HAPPY] == pytest.approx(0.7)
    assert tracked.probabilities.sum() == pytest.approx(1)


def test_the_label_does_not_flicker_on_alternating_near_ties():
    box = (10, 10, 60, 60)
    rows = [probabilities(happy=0.47, sad=0.43) if frame % 2 else probabilities(happy=0.43, sad=0.47)
            for frame in range(40)]
    # Without smoothing, the top emotion flips every frame; with it, the label stays put.
    assert len({int(np.argmax(row)) for row in rows}) == 2
    tracks = FaceTracks(smoothing_frames=5)
    followed = [tracks.update([box], [row])[0] for row in rows]
    # Even the averages of an odd window alternate in the lead; the label holds.
    assert len({int(np.argmax(tracked.probabilities)) for tracked in followed[5:]}) == 2
    assert {tracked.label for tracked in followed} == {SAD}
    # A clear change does take the label over.
    for _ in range(4):
        (tracked,) = tracks.update([box], [probabilities(happy=0.8, sad=0.1)])
    assert tracked.label == HAPPY


def test_each_face_is_smoothed_on_its_own():
    tracks = FaceTracks(smoothing_frames=5)
    for _ in range(5):
        first, second = tracks.update([(0, 0, 50, 50), (300, 0, 50, 50)],
                                      [probabilities(happy=0.9), probabilities(sad=0.9)])
    assert (first.label, second.label) == (HAPPY, SAD)
    assert (first.box, second.box) == ((0, 0, 50, 50), (300, 0, 50, 50))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        FaceTracks(smoothing_frames=0)
    with pytest.raises(ValueError):
        FaceTracks(grace_frames=-1)
