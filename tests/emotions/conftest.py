"""Fixtures for the live-session, history and load-test tests: a tiny model, a real face, a live server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import live_server
from tests.emotions.recognition.support import shared_tiny_model_dir

asgi_server = live_server.asgi_server  # fixtures: the live server and its address
live_url = live_server.live_url


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_tiny_model_dir(tmp_path_factory)


@pytest.fixture
def recognition_model(settings, tiny_model_dir: Path) -> Path:
    """The process's pipeline classifies with the tiny model (reset when the test ends)."""
    settings.EMOTION_MODEL_DIR = tiny_model_dir
    return tiny_model_dir


@pytest.fixture(scope="session")
def face_jpeg() -> bytes:
    """A 640x480 camera-like JPEG of a real face (scikit-image's astronaut)."""
    from emotions.recognition.bench import astronaut_bgr, encode_jpeg, place_in_frame

    return encode_jpeg(place_in_frame(astronaut_bgr(), 110, 30), quality=80)


