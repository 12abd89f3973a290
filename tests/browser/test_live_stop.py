"""Stop on the live page: nothing arriving afterwards is drawn, and the side panel is cleared."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import in_thread
from tests.browser.test_live_session import FACE_TIMEOUT_MS, TRACK_SOCKETS, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A result as the server sends it, for a frame sent just before Stop: the box covers the frame's middle.
LATE_RESULT = json.dumps({
    "type": "result", "frame": 0, "ms": 7,
    "faces": [{"emotion": "happy", "box": [200, 120, 240, 240],
               "scores": {"angry": 0.01, "disgust": 0.01, "fear": 0.01, "happy": 0.9, "sad": 0.02,
                          "surprise": 0.03, "neutral": 0.02}}],
})

# Click Stop and deliver the late result in the same task, before the server can answer "stopped".
STOP_THEN_LATE_RESULT = """(result) => {
  document.getElementById("stop").click();
  window.__sockets.at(-1).dispatchEvent(new MessageEvent("message", { data: result }));
}"""

OVERLAY_IS_BLANK = """() => {
  const canvas = document.getElementById("overlay");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  return pixels.every((value, index) => index % 4 !== 3 || value === 0);
}"""


def test_results_after_stop_are_not_drawn_and_the_panel_is_cleared(browser, live_url, recognition_model,
                                                                    artifacts_dir):
    in_thread(UserFactory, username="stopper")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(TRACK_SOCKETS)
    page = context.new_page()
    try:
        sign_in(page, live_url, "stopper")
        page.click("#start")
        page.wait_for_selector("#faces li[data-emotion]", timeout=FACE_TIMEOUT_MS)
        assert not page.evaluate(OVERLAY_IS_BLANK)  # a box is drawn while running

        page.evaluate(STOP_THEN_LATE_RESULT, LATE_RESULT)
        assert page.evaluate(OVERLAY_IS_BLANK)
        assert page.locator("#faces li").count() == 0
        assert set(page.locator("#bars .value").all_text_contents()) == {"\N{EN DASH}"}
        assert page.locator("#status").get_attribute("data-state") != "running"
        page.wait_for_selector("#status[data-state=stopped]", timeout=30_000)
        assert page.evaluate(OVERLAY_IS_BLANK)
        page.screenshot(path=artifacts_dir / "live_stopped.png", full_page=True)
    finally:
        context.close()
