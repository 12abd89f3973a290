"""Two cameras: the live page offers a choice once the camera is allowed, and switching restarts the
stream from the chosen one while the session goes on."""

from __future__ import annotations

import pytest

from emotions.models import CaptureSession
from tests.browser.conftest import in_thread
from tests.browser.test_live_session import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STREAMING_FROM = "document.getElementById('video').srcObject.getVideoTracks()[0].getSettings().deviceId"


def frames_processed(username: str) -> int:
    return in_thread(lambda: CaptureSession.objects.get(user__username=username).frames_processed)


@pytest.fixture
def fake_camera_flags() -> list[str]:
    """Chromium's two generated fake cameras (a moving test pattern each, no face)."""
    return ["--use-fake-device-for-media-stream=device-count=2"]


def test_camera_choice_lists_both_cameras_and_switches_the_stream(browser, live_url, recognition_model):
    in_thread(UserFactory, username="cami")
    # The test waits on its own page functions; the page itself runs as served.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, live_url, "cami")
        choice = page.locator("#camera-choice")
        assert choice.is_hidden()  # nothing to choose before the camera is allowed
        page.click("#start")
        choice.wait_for(state="visible")
        options = page.locator("#camera option")
        assert options.count() == 2
        first = page.evaluate(STREAMING_FROM)
        assert page.locator("#camera").input_value() == first
        page.wait_for_selector("#status[data-state=running]", timeout=90_000)
        session = page.locator("#session").text_content()

        other = next(value for value in (options.nth(0).get_attribute("value"), options.nth(1).get_attribute("value"))
                     if value != first)
        page.select_option("#camera", other)
        page.wait_for_function(f"{STREAMING_FROM} === {other!r}")
        assert page.evaluate("document.getElementById('video').srcObject.getVideoTracks()[0].readyState") == "live"
        # Frames keep coming, now from the other camera.
        before = frames_processed("cami")
        for _ in range(60):
            if frames_processed("cami") >= before + 3:
                break
            page.wait_for_timeout(500)
        assert frames_processed("cami") >= before + 3
        assert page.locator("#session").text_content() == session  # the same session, another camera
        page.click("#stop")
        page.wait_for_selector("#status[data-state=stopped]", timeout=30_000)
    finally:
        context.close()
