"""A camera that sees a bare wall: the live page says no face is found and how to help, and stops saying
it once a face appears."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import in_thread
from tests.browser.test_live_session import FACE_TIMEOUT_MS, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def camera_video(blank_wall_then_face_camera_video: Path) -> Path:
    return blank_wall_then_face_camera_video


def test_no_face_hint_appears_on_a_bare_wall_and_clears_for_a_face(browser, live_url, recognition_model,
                                                                     artifacts_dir):
    in_thread(UserFactory, username="walt")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_url, "walt")
        hint = page.locator("#no-face-hint")
        assert hint.is_hidden()
        page.click("#start")
        hint.wait_for(state="visible", timeout=FACE_TIMEOUT_MS)
        assert "No face found — move closer, face the camera, add light" in hint.text_content()
        assert page.locator("#faces li").count() == 0
        page.screenshot(path=artifacts_dir / "live_no_face.png", full_page=True)

        page.wait_for_selector("#faces li[data-track]", timeout=30_000)  # the face steps in
        assert hint.is_hidden()
        page.click("#stop")
        page.wait_for_selector("#status[data-state=stopped]", timeout=30_000)
        assert hint.is_hidden()
    finally:
        context.close()
