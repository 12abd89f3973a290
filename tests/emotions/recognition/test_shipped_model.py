"""The model that ships with the repository (`models/shipped/`) on a real photo."""

from pathlib import Path

import pytest

from emotions.recognition import EmotionClassifier, HaarFaceDetector, RecognitionPipeline

SHIPPED_MODEL = Path(__file__).resolve().parents[3] / "models" / "shipped" / "model.tflite"


@pytest.fixture(scope="module")
def shipped_pipeline() -> RecognitionPipeline:
    if not SHIPPED_MODEL.is_file():
        reason = f"no shipped model yet: {SHIPPED_MODEL} is absent"
        print(reason)
        pytest.skip(reason)
    return RecognitionPipeline(HaarFaceDetector(), EmotionClassifier(SHIPPED_MODEL))


def test_shipped_model_finds_one_happy_face_in_the_astronaut_photo(shipped_pipeline, astronaut):
    results = shipped_pipeline.process_frame(astronaut)
    assert len(results) == 1
    assert results[0].emotion == "happy", results[0].scores


def test_shipped_model_calls_the_astronaut_happy_in_a_camera_frame(shipped_pipeline, astronaut_jpeg):
    results = shipped_pipeline.process(astronaut_jpeg)
    assert len(results) == 1
    assert results[0].emotion == "happy", results[0].scores


def test_the_shipped_live_variant_also_calls_the_astronaut_happy(astronaut_jpeg):
    live_model = SHIPPED_MODEL.with_name("model_live.tflite")
    assert live_model.is_file(), "the shipped model's live variant is missing"
    pipeline = RecognitionPipeline(HaarFaceDetector(), EmotionClassifier(SHIPPED_MODEL),
                                   live_classifier=EmotionClassifier(live_model))
    (result,) = pipeline.new_stream(live=True).process(astronaut_jpeg)
    assert result.emotion == "happy", result.scores
