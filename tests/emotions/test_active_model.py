"""The process-wide pipeline built from Django settings."""

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from emotions import active_model
from emotions.recognition import HaarFaceDetector, YuNetFaceDetector
from tests.emotions.recognition.support import YUNET_PATH


@pytest.fixture
def configured(settings, tiny_model_dir):
    settings.EMOTION_MODEL_DIR = tiny_model_dir
    settings.FACE_DETECTOR = "haar"
    active_model.reset_pipeline()
    yield settings
    active_model.reset_pipeline()


def test_one_pipeline_per_process_built_once_even_from_many_threads(configured, tiny_model_dir):
    with ThreadPoolExecutor(max_workers=8) as pool:
        pipelines = list(pool.map(lambda _: active_model.get_pipeline(), range(16)))
    assert all(p is pipelines[0] for p in pipelines)
    assert isinstance(pipelines[0].detector, HaarFaceDetector)
    assert active_model.current_model_dir() == tiny_model_dir


def test_frame_limit_comes_from_settings(configured):
    configured.MAX_FRAME_BYTES = 1234
    assert active_model.get_pipeline().max_bytes == 1234


def test_switch_model_swaps_the_classifier_in_place(configured, tiny_model_dir, tmp_path):
    pipeline = active_model.get_pipeline()
    old_classifier = pipeline.classifier
    other_dir = tmp_path / "v2"
    other_dir.mkdir()
    shutil.copy(tiny_model_dir / "model.tflite", other_dir / "model.tflite")
    active_model.switch_model(other_dir)
    assert active_model.get_pipeline() is pipeline
    assert pipeline.classifier is not old_classifier
    assert pipeline.classifier.model_path == other_dir / "model.tflite"
    assert active_model.current_model_dir() == other_dir


def test_switch_to_a_missing_model_keeps_the_current_one(configured, tmp_path):
    pipeline = active_model.get_pipeline()
    classifier = pipeline.classifier
    with pytest.raises(FileNotFoundError):
        active_model.switch_model(tmp_path / "nowhere")
    assert pipeline.classifier is classifier


def test_overriding_a_setting_rebuilds_the_pipeline(configured, tiny_model_dir, tmp_path):
    first = active_model.get_pipeline()
    configured.EMOTION_MODEL_DIR = tiny_model_dir  # any change of a recognition setting
    assert active_model.get_pipeline() is not first


def test_default_model_dir_is_models_shipped(settings):
    del settings.EMOTION_MODEL_DIR
    assert active_model.configured_model_dir() == settings.BASE_DIR / "models" / "shipped"


def test_yunet_needs_a_model_path(configured):
    configured.FACE_DETECTOR = "yunet"
    configured.YUNET_MODEL_PATH = ""
    with pytest.raises(ValueError, match="YUNET_MODEL_PATH"):
        active_model.build_detector()


def test_yunet_is_built_when_configured(configured):
    if not YUNET_PATH.is_file():
        pytest.skip(f"YuNet model not found at {YUNET_PATH}")
    configured.FACE_DETECTOR = "yunet"
    configured.YUNET_MODEL_PATH = str(YUNET_PATH)
    assert isinstance(active_model.get_pipeline().detector, YuNetFaceDetector)


def test_unknown_detector_is_refused(configured):
    configured.FACE_DETECTOR = "magic"
    with pytest.raises(ValueError, match="unknown FACE_DETECTOR"):
        active_model.build_detector()


@pytest.mark.django_db
def test_a_process_that_missed_an_activation_follows_the_registry_at_the_next_session(
        configured, tiny_model_dir, tmp_path):
    """Another server process activated a version; this one had no live session to hear the broadcast."""
    from emotions import services
    from tests.factories import ModelVersionFactory, UserFactory
    from training.models import ModelVersion

    pipeline = active_model.get_pipeline()
    assert active_model.current_model_dir() == tiny_model_dir
    other_dir = tmp_path / "v2"
    other_dir.mkdir()
    shutil.copy(tiny_model_dir / "model.tflite", other_dir / "model.tflite")
    ModelVersion.objects.update(is_active=False)
    ModelVersionFactory(name="v2", artifact_dir=str(other_dir), is_active=True)  # no broadcast reaches us

    session = services.start_session(user=UserFactory())
    assert active_model.current_model_dir() == other_dir
    assert pipeline.classifier.model_path == other_dir / "model.tflite"
    assert session.model_label == "v2"


def test_a_live_variant_beside_the_model_is_what_live_streams_classify_with(configured, tiny_model_dir, tmp_path):
    with_live = tmp_path / "with-live"
    with_live.mkdir()
    shutil.copy(tiny_model_dir / "model.tflite", with_live / active_model.MODEL_FILE)
    shutil.copy(tiny_model_dir / "model.tflite", with_live / active_model.LIVE_MODEL_FILE)
    configured.EMOTION_MODEL_DIR = with_live
    assert active_model.get_pipeline().live_classifier is active_model.get_pipeline().classifier  # not named: unused
    (with_live / "config.json").write_text(json.dumps({"live_variant": {"file": active_model.LIVE_MODEL_FILE}}))
    active_model.reset_pipeline()
    configured.EMOTION_MODEL_DIR = with_live
    pipeline = active_model.get_pipeline()
    assert pipeline.classifier.model_path == with_live / active_model.MODEL_FILE
    assert pipeline.live_classifier.model_path == with_live / active_model.LIVE_MODEL_FILE
    assert active_model.open_live_stream().live

    active_model.switch_model(tiny_model_dir)  # a model without a live variant: live streams use the model
    assert pipeline.live_classifier is pipeline.classifier
    assert pipeline.classifier.model_path == tiny_model_dir / active_model.MODEL_FILE
