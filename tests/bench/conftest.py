"""Fixtures for the tools' tests: a live server for the load client, a Haar detector for the video cases,
a tiny data set for the training benchmark."""

from __future__ import annotations

import pytest

from emotions.recognition import HaarFaceDetector
from tests.browser import live_server
from tests.training import conftest as training_fixtures

asgi_server = live_server.asgi_server  # fixtures: the live server and its address
live_url = live_server.live_url
tiny_npz = training_fixtures.tiny_npz  # a three-split .npz in the shared data set's layout (bench_training)


@pytest.fixture(scope="session")
def haar() -> HaarFaceDetector:
    return HaarFaceDetector()
