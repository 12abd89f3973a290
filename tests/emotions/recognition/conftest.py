import os

import numpy as np
import pytest

from bench.frames import astronaut_bgr, encode_jpeg, place_in_frame
from emotions.recognition import EmotionClassifier, HaarFaceDetector, RecognitionPipeline, YuNetFaceDetector
from tests.emotions.recognition.support import YUNET_PATH


@pytest.fixture(scope="session")
def classifier(tiny_model_dir) -> EmotionClassifier:
    return EmotionClassifier(tiny_model_dir / "model.tflite")


@pytest.fixture(scope="session")
def haar() -> HaarFaceDetector:
    return HaarFaceDetector()


@pytest.fixture(scope="session")
def yunet() -> YuNetFaceDetector:
    """The optional YuNet detector: skipped if its model file is absent, unless CI=true."""
    if not YUNET_PATH.is_file():
        reason = f"YuNet model not found at {YUNET_PATH} (set YUNET_MODEL_PATH)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        print(f"skipping YuNet tests: {reason}")
        pytest.skip(reason)
    return YuNetFaceDetector(YUNET_PATH)


@pytest.fixture(scope="session")
def pipeline(haar, classifier) -> RecognitionPipeline:
    return RecognitionPipeline(haar, classifier)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo, BGR 512x512, one frontal face."""
    return astronaut_bgr()


@pytest.fixture(scope="session")
def astronaut_frame(astronaut) -> np.ndarray:
    """The astronaut photo scaled to 420 px in a 640x480 camera frame."""
    return place_in_frame(astronaut, 110, 30)


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut_frame) -> bytes:
    return encode_jpeg(astronaut_frame)
