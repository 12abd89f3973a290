"""The live page's tools around the stream: the mirrored preview with its boxes mirrored to match, the
rolling chart of the shown face, the camera choice (hidden with one camera), and the model's limits."""

from __future__ import annotations

import pytest

from tests.browser.conftest import in_thread
from tests.browser.test_live_session import FACE_TIMEOUT_MS, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# In one task, so that the listed face and the overlay are of the same answer: the face's box as found,
# its box on the overlay, and the overlay's alpha on the middle row of the face at three columns:
# the found box's left edge, the mirrored box's left edge, and the mirrored box's right edge.
READ_FACE_AND_OVERLAY = """() => {
  const item = document.querySelector("#faces li[data-track]");
  const [x, y, w, h] = item.dataset.box.split(",").map(Number);
  const [ox] = item.dataset.overlayBox.split(",").map(Number);
  const overlay = document.getElementById("overlay");
  const alpha = (column) => overlay.getContext("2d").getImageData(column, Math.round(y + h / 2), 1, 1).data[3];
  const mx = overlay.width - x - w;
  return { box: [x, y, w, h], overlayX: ox, width: overlay.width,
           alphaAtFound: alpha(x), alphaAtMirrored: alpha(mx), alphaAtMirroredRight: alpha(mx + w) };
}"""
VIDEO_TRANSFORM = "getComputedStyle(document.getElementById('video')).transform"


def test_mirror_on_by_default_toggle_remembered_and_boxes_line_up(browser, live_url, recognition_model, artifacts_dir):
    in_thread(UserFactory, username="mira")
    # The test waits on its own page functions; the page itself runs as served.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, live_url, "mira")
        assert page.locator("#mirror").is_checked()
        assert page.evaluate(VIDEO_TRANSFORM) == "matrix(-1, 0, 0, 1, 0, 0)"

        page.click("#start")
        page.wait_for_selector("#faces li[data-track]", timeout=FACE_TIMEOUT_MS)
        seen = page.evaluate(READ_FACE_AND_OVERLAY)
        x, _, w, _ = seen["box"]
        assert seen["width"] == 640
        assert seen["overlayX"] == 640 - x - w  # the box's x, mirrored like the video
        assert abs((640 - x - w) - x) > 6  # (the face is off-centre, so mirroring moves its box)
        assert seen["alphaAtMirrored"] > 0 and seen["alphaAtMirroredRight"] > 0 and seen["alphaAtFound"] == 0
        page.screenshot(path=artifacts_dir / "live_mirrored.png", full_page=True)

        page.click("#mirror")
        assert page.evaluate(VIDEO_TRANSFORM) == "none"
        assert page.evaluate("localStorage.getItem('moodlens.live.mirror')") == "false"
        page.wait_for_function(
            "(() => { const item = document.querySelector('#faces li[data-track]');"
            " return item && item.dataset.overlayBox === item.dataset.box; })()")
        seen = page.evaluate(READ_FACE_AND_OVERLAY)
        assert seen["overlayX"] == seen["box"][0] and seen["alphaAtFound"] > 0

        # The rolling chart of the shown face has gathered points, seven series of them.
        page.wait_for_function("Number(document.getElementById('recent-chart').dataset.points) >= 3")
        assert page.evaluate("Chart.getChart(document.getElementById('recent-chart')).data.datasets.length") == 7
        assert page.locator("#recent-face").text_content() == page.locator("#panel-face").text_content()

        # The fake camera is the only one: no choice to offer.
        assert page.locator("#camera-choice").get_attribute("data-cameras") == "1"
        assert page.locator("#camera-choice").is_hidden()
        page.click("#stop")
        page.wait_for_selector("#status[data-state=stopped]", timeout=30_000)

        page.reload()
        assert not page.locator("#mirror").is_checked()  # remembered
        assert page.evaluate(VIDEO_TRANSFORM) == "none"
        assert "facial expressions, not feelings" in page.locator(".model-limits").text_content()
    finally:
        context.close()
