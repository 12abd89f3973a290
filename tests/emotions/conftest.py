"""Fixtures for the live-session, history and load-test tests: a tiny model, a real face, a live server."""

from __future__ import annotations

import pytest

from tests.browser import live_server

asgi_server = live_server.asgi_server  # fixtures: the live server and its address
live_url = live_server.live_url


@pytest.fixture(scope="session")
def face_jpeg() -> bytes:
    """A 640x480 camera-like JPEG of a real face (scikit-image's astronaut)."""
    from bench.frames import astronaut_bgr, encode_jpeg, place_in_frame

    return encode_jpeg(place_in_frame(astronaut_bgr(), 110, 30), quality=80)


