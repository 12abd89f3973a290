"""Fixtures for browser tests: Debian's Chromium, a fake camera playing a real face, a live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import pytest
from django.conf import settings as django_settings
from django.db import connections

from tests.browser import live_server
from tests.services import service_unavailable

asgi_server = live_server.asgi_server  # fixtures: the live server and its address
live_url = live_server.live_url

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--use-fake-ui-for-media-stream",
]
VIDEO_SIZE = (640, 480)
VIDEO_FRAMES = 36
VIDEO_FPS = 15
T = TypeVar("T")


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """Write BGR frames as an uncompressed YUV4MPEG2 4:2:0 video (what Chromium's fake camera plays)."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            video.write(b"FRAME\n")
            # OpenCV's I420 is the three planes one after the other: Y (w*h), U and V (w/2*h/2 each).
            video.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="session")
def fake_camera_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of the astronaut's face drifting slowly across a 640x480 frame."""
    from bench.frames import astronaut_bgr, place_in_frame

    photo = astronaut_bgr()
    frames = []
    for index in range(VIDEO_FRAMES):
        shift = round(12 * np.sin(2 * np.pi * index / VIDEO_FRAMES))
        frames.append(place_in_frame(photo, 110 + shift, 30, frame_size=VIDEO_SIZE))
    return write_y4m(tmp_path_factory.mktemp("camera") / "astronaut.y4m", frames, VIDEO_FPS)


@pytest.fixture(scope="session")
def two_faces_camera_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two faces: the left one drifting right and back, the right one still (tests/two_faces.py)."""
    from tests.two_faces import two_faces_frame

    frames = [two_faces_frame(round(40 * np.sin(np.pi * index / VIDEO_FRAMES))) for index in range(VIDEO_FRAMES)]
    return write_y4m(tmp_path_factory.mktemp("camera") / "two-faces.y4m", frames, VIDEO_FPS)


@pytest.fixture(scope="session")
def blank_wall_then_face_camera_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare wall for 4 s, then the astronaut's face for 3 s (the fake camera loops it)."""
    from bench.frames import astronaut_bgr, place_in_frame

    photo = astronaut_bgr()
    wall = place_in_frame(photo, VIDEO_SIZE[0], 0, frame_size=VIDEO_SIZE)  # placed past the right edge: no face
    face = place_in_frame(photo, 110, 30, frame_size=VIDEO_SIZE)
    frames = [wall] * (4 * VIDEO_FPS) + [face] * (3 * VIDEO_FPS)
    return write_y4m(tmp_path_factory.mktemp("camera") / "wall-then-face.y4m", frames, VIDEO_FPS)


@pytest.fixture
def camera_video(fake_camera_video: Path) -> Path:
    """What the fake camera plays: one face; a test module overrides this fixture for others."""
    return fake_camera_video


@pytest.fixture
def fake_camera_flags(camera_video: Path) -> list[str]:
    """Chromium's fake camera: one, playing `camera_video`; a test module overrides this for others."""
    return ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera_video}"]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).is_file() and shutil.which(CHROMIUM) is None:
        service_unavailable(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def browser(chromium_path: str, fake_camera_flags: list[str], live_url: str) -> Iterator:
    """Headless Chromium whose camera plays `camera_video` (as `fake_camera_flags` say).

    Function-scoped and set up after the database: while Playwright's sync API runs, the main
    thread counts as async for Django, so ORM calls in the test go through `in_thread`.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True,
            args=[*CHROMIUM_FLAGS, *fake_camera_flags],
        )
        yield browser
        browser.close()


def in_thread(function: Callable[..., T], *args, **kwargs) -> T:
    """Run `function` (ORM work) in a fresh thread, outside Playwright's event loop; close its connection."""

    def call() -> T:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


@pytest.fixture
def artifacts_dir() -> Path:
    """Screenshots kept after the run (test-artifacts/ is gitignored)."""
    folder = Path(django_settings.BASE_DIR) / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
