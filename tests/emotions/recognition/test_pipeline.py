import cv2
import numpy as np
import pytest

from bench.frames import encode_jpeg
from emotions.recognition import EMOTIONS, FaceResult, InvalidImageError, RecognitionPipeline, StreamTracker
from emotions.recognition.pipeline import crop_face, merge_boxes, overlap

FRAME_W, FRAME_H = 640, 480


def assert_valid(result: FaceResult, shape) -> None:
    x, y, w, h = result.box
    assert all(isinstance(v, int) for v in result.box)
    assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= shape[1] and y + h <= shape[0]
    assert list(result.scores) == list(EMOTIONS)
    assert result.emotion == max(result.scores, key=result.scores.get)
    assert abs(sum(result.scores.values()) - 1) < 1e-4


def centre(box):
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def test_face_result_to_dict():
    scores = dict.fromkeys(EMOTIONS, 0.0) | {"happy": 1.0}
    result = FaceResult((1, 2, 3, 4), "happy", scores)
    assert result.to_dict() == {"box": [1, 2, 3, 4], "emotion": "happy", "scores": scores}


def test_process_finds_the_face_in_a_jpeg(pipeline, astronaut_jpeg, astronaut_frame):
    results = pipeline.process(astronaut_jpeg)
    assert len(results) == 1
    assert_valid(results[0], astronaut_frame.shape)
    assert results[0].to_dict()["box"] == list(results[0].box)


def test_process_png_of_the_photo(pipeline, astronaut):
    png = cv2.imencode(".png", astronaut)[1].tobytes()
    (result,) = pipeline.process(png)
    assert_valid(result, astronaut.shape)


def test_process_frame_takes_colour_or_gray(pipeline, astronaut_frame):
    (colour,) = pipeline.process_frame(astronaut_frame)
    (gray,) = pipeline.process_frame(cv2.cvtColor(astronaut_frame, cv2.COLOR_BGR2GRAY))
    assert colour.box == gray.box
    assert colour.scores == pytest.approx(gray.scores, abs=1e-5)


def test_no_face_gives_no_results(pipeline):
    assert pipeline.process(encode_jpeg(np.full((FRAME_H, FRAME_W, 3), 128, np.uint8))) == []


def test_bad_bytes_raise_invalid_image_error(pipeline, astronaut_jpeg):
    with pytest.raises(InvalidImageError):
        pipeline.process(b"not an image")
    with pytest.raises(InvalidImageError, match="truncated"):
        pipeline.process(astronaut_jpeg[: len(astronaut_jpeg) // 2])


def test_limits_come_from_the_pipeline(haar, classifier, astronaut_jpeg):
    strict = RecognitionPipeline(haar, classifier, max_bytes=1000)
    with pytest.raises(InvalidImageError, match="the limit is"):
        strict.process(astronaut_jpeg)


def test_all_faces_of_a_frame_are_classified_in_one_batch(haar, classifier, portrait):
    calls = []

    class CountingClassifier:
        def classify(self, faces):
            calls.append(faces.shape)
            return classifier.classify(faces)

    frame = compose([(portrait, 30, 40), (portrait, 360, 200)])  # two faces
    results = RecognitionPipeline(haar, CountingClassifier()).process_frame(frame)
    assert len(results) == 2
    assert calls == [(2, 48, 48)]


def test_crop_is_the_box_resized_to_48():
    gray = np.zeros((200, 200), np.uint8)
    gray[50:150, 50:150] = 255
    crop = crop_face(gray, (50, 50, 100, 100))
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert crop.min() == 255  # exactly the box (FER_CROP_SCALE = 1.0)


def test_crop_pads_by_repeating_the_edge_where_the_box_leaves_the_frame():
    gray = np.full((100, 100), 200, np.uint8)
    crop = crop_face(gray, (-20, 70, 50, 50))
    assert crop.shape == (48, 48)
    assert crop.min() == 200


def test_taller_boxes_give_a_square_crop_on_the_longer_side():
    gray = np.zeros((200, 200), np.uint8)
    gray[40:160, 40:160] = 255  # 120 px square around a 90x120 box's centre
    crop = crop_face(gray, (55, 40, 90, 120))
    assert crop.min() == 255


def test_overlap_and_merge():
    assert overlap((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert overlap((0, 0, 10, 10), (20, 20, 10, 10)) == 0.0
    assert merge_boxes([(0, 0, 10, 10)], [(1, 1, 10, 10), (50, 50, 10, 10)]) == [(0, 0, 10, 10), (50, 50, 10, 10)]


def test_swap_classifier_replaces_the_model(haar, classifier, tiny_model_dir, astronaut_frame):
    from emotions.recognition import EmotionClassifier

    pipeline = RecognitionPipeline(haar, classifier)
    replacement = EmotionClassifier(tiny_model_dir / "model.tflite")
    assert pipeline.swap_classifier(replacement) is classifier
    assert pipeline.classifier is replacement
    assert len(pipeline.process_frame(astronaut_frame)) == 1


# --- stream tracking -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portrait(astronaut) -> np.ndarray:
    """The head and shoulders of the astronaut (230x250), her face of ~97 px centred at (112, 112)."""
    return astronaut[0:250, 110:340]


def compose(parts: list[tuple[np.ndarray, int, int]]) -> np.ndarray:
    frame = np.full((FRAME_H, FRAME_W, 3), 120, np.uint8)
    for image, left, top in parts:
        frame[top : top + image.shape[0], left : left + image.shape[1]] = image
    return frame


PORTRAIT_FACE_CENTRE = (112, 112)


def test_stream_follows_a_moving_face_and_picks_up_a_new_one(pipeline, portrait):
    tracker = pipeline.new_stream(redetect_every=10)
    assert isinstance(tracker, StreamTracker)
    appears_at, frames = 15, 45
    for index in range(frames):
        left, top = 20 + 3 * index, 40 + (index % 10)  # ~3 px per frame to the right, a little up and down
        parts = [(portrait, left, top)]
        if index >= appears_at:
            parts.append((portrait, 400, 200))
        frame = compose(parts)
        results = tracker.process(encode_jpeg(frame))
        expected = [(left + PORTRAIT_FACE_CENTRE[0], top + PORTRAIT_FACE_CENTRE[1])]
        if index >= appears_at:
            expected.append((400 + PORTRAIT_FACE_CENTRE[0], 200 + PORTRAIT_FACE_CENTRE[1]))
        assert len(results) <= len(expected), f"frame {index}: a false face"
        found = [centre(r.box) for r in results]
        for result in results:
            assert_valid(result, frame.shape)
        # The moving face is found in every frame, where it is.
        assert any(abs(x - expected[0][0]) < 15 and abs(y - expected[0][1]) < 15 for x, y in found), index
        if index >= appears_at + tracker.redetect_every:
            assert len(results) == 2, f"frame {index}: the new face was not picked up"
    # Tracking did the work: full-frame searches only every `redetect_every` frames (plus the first).
    assert tracker.full_searches <= frames // tracker.redetect_every + 2


def test_stream_with_yunet_follows_a_moving_face(yunet, classifier, portrait):
    tracker = RecognitionPipeline(yunet, classifier).new_stream()
    for index in range(25):
        left, top = 30 + 4 * index, 60 + (index % 5)
        results = tracker.process(encode_jpeg(compose([(portrait, left, top)])))
        assert len(results) == 1, index
        x, y = centre(results[0].box)
        assert abs(x - (left + PORTRAIT_FACE_CENTRE[0])) < 20 and abs(y - (top + PORTRAIT_FACE_CENTRE[1])) < 20
    assert tracker.full_searches <= 4


def test_stream_finds_the_face_again_after_it_left(pipeline, portrait):
    tracker = pipeline.new_stream()
    assert len(tracker.process_frame(compose([(portrait, 50, 50)]))) == 1
    assert tracker.process_frame(compose([])) == []
    assert tracker.tracked == []
    (result,) = tracker.process_frame(compose([(portrait, 380, 200)]))
    x, y = centre(result.box)
    assert abs(x - (380 + PORTRAIT_FACE_CENTRE[0])) < 15 and abs(y - (200 + PORTRAIT_FACE_CENTRE[1])) < 15


def test_stream_matches_the_stateless_pipeline_on_a_still_frame(pipeline, astronaut_jpeg):
    tracker = pipeline.new_stream()
    (first,) = pipeline.process(astronaut_jpeg)
    for _ in range(5):
        (tracked,) = tracker.process(astronaut_jpeg)
        assert overlap(first.box, tracked.box) > 0.7


def test_stream_rejects_a_bad_redetect_interval(pipeline):
    with pytest.raises(ValueError):
        pipeline.new_stream(redetect_every=0)


def test_stream_survives_a_change_of_frame_size(pipeline, portrait):
    tracker = pipeline.new_stream()
    assert len(tracker.process_frame(compose([(portrait, 380, 200)]))) == 1
    # A smaller frame (a client that changed its capture size): the old face's region lies outside it.
    assert tracker.process_frame(np.full((120, 160, 3), 120, np.uint8)) == []
    (result,) = tracker.process_frame(compose([(portrait, 50, 50)]))
    x, y = centre(result.box)
    assert abs(x - (50 + PORTRAIT_FACE_CENTRE[0])) < 15 and abs(y - (50 + PORTRAIT_FACE_CENTRE[1])) < 15


def test_stream_spreads_the_periodic_full_search_over_two_frames(classifier, portrait):
    from emotions.recognition import HaarFaceDetector

    calls: list[tuple[int, str]] = []

    class Recording(HaarFaceDetector):
        inside_detect = False

        def detect(self, image, *, min_face=None, max_face=None):
            if min_face is None and max_face is None:
                calls.append((frame, "detect"))
            self.inside_detect = True
            try:
                return super().detect(image, min_face=min_face, max_face=max_face)
            finally:
                self.inside_detect = False

        def propose(self, image):
            if not self.inside_detect:
                calls.append((frame, "propose"))
            return super().propose(image)

        def confirm(self, image, candidates):
            if not self.inside_detect:
                calls.append((frame, "confirm"))
            return super().confirm(image, candidates)

    tracker = RecognitionPipeline(Recording(), classifier).new_stream(redetect_every=10)
    for frame in range(31):
        assert len(tracker.process_frame(compose([(portrait, 40 + frame, 60)]))) == 1, frame
    whole = [call for call in calls if call[1] == "detect"]
    assert whole == [(0, "detect")]  # the first frame searches everything at once: nothing to follow yet
    assert [call for call in calls if call[1] != "detect"] == [
        (9, "propose"), (10, "confirm"), (19, "propose"), (20, "confirm"), (29, "propose"), (30, "confirm")]
    assert tracker.full_searches == 4


class RecordingClassifier:
    """Classifies with `inner` and remembers that it was asked."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def classify(self, faces):
        self.calls += 1
        return self.inner.classify(faces)


def test_live_streams_classify_with_the_live_classifier_and_others_with_the_main_one(haar, classifier, astronaut_frame):
    main, live = RecordingClassifier(classifier), RecordingClassifier(classifier)
    pipeline = RecognitionPipeline(haar, main, live_classifier=live)
    assert len(pipeline.new_stream(live=True).process_frame(astronaut_frame)) == 1
    assert (main.calls, live.calls) == (0, 1)
    pipeline.process_frame(astronaut_frame)
    pipeline.new_stream().process_frame(astronaut_frame)  # e.g. a video: the main model
    assert (main.calls, live.calls) == (2, 1)
    jpeg = encode_jpeg(astronaut_frame)
    assert len(pipeline.new_stream(live=True).follow(jpeg)) == 1  # with face tracks, as the live page
    pipeline.new_stream().follow(jpeg)
    assert (main.calls, live.calls) == (3, 2)


def test_without_a_live_classifier_live_streams_use_the_main_one(haar, classifier, astronaut_frame):
    main = RecordingClassifier(classifier)
    pipeline = RecognitionPipeline(haar, main)
    assert pipeline.live_classifier is main
    pipeline.new_stream(live=True).process_frame(astronaut_frame)
    assert main.calls == 1


def test_swap_classifier_replaces_both_and_drops_a_live_variant_the_new_model_lacks(haar, classifier):
    first, first_live, second = (RecordingClassifier(classifier) for _ in range(3))
    pipeline = RecognitionPipeline(haar, first, live_classifier=first_live)
    assert pipeline.swap_classifier(second) is first
    assert pipeline.classifier is second and pipeline.live_classifier is second
