"""Fixtures for the tools' tests: a live server for the load client, a Haar detector for the video cases."""

from __future__ import annotations

import pytest

from emotions.recognition import HaarFaceDetector
from tests.browser import live_server

asgi_server = live_server.asgi_server  # fixtures: the live server and its address
live_url = live_server.live_url


@pytest.fixture(scope="session")
def haar() -> HaarFaceDetector:
    return HaarFaceDetector()
