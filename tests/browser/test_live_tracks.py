"""Two faces in front of the camera: each keeps its name ("Face 1", "Face 2") from frame to frame on
the live page, and the session page charts each of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotions.models import Detection
from tests.browser.conftest import in_thread
from tests.browser.test_live_session import FACE_TIMEOUT_MS, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = 20  # answered frames looked at
# Records the faces list after every answer the page shows (each answer replaces the list's items).
RECORD_FACES = """
window.__shown = [];
document.addEventListener("DOMContentLoaded", () => {
  const faces = document.getElementById("faces");
  if (!faces) return;
  new MutationObserver(() => {
    window.__shown.push([...faces.querySelectorAll("li")].map(
      (item) => ({track: item.dataset.track, box: item.dataset.box, text: item.textContent})));
  }).observe(faces, {childList: true});
});
"""


@pytest.fixture
def camera_video(two_faces_camera_video: Path) -> Path:
    return two_faces_camera_video


def test_two_faces_keep_their_names_and_get_a_timeline_each(browser, live_url, recognition_model, artifacts_dir):
    in_thread(UserFactory, username="faye")
    # The test waits on its own page functions; the page itself runs as served.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.add_init_script(RECORD_FACES)
    page = context.new_page()
    try:
        sign_in(page, live_url, "faye")
        page.click("#start")
        page.wait_for_function("window.__shown.some(faces => faces.length === 2)", timeout=FACE_TIMEOUT_MS)
        page.wait_for_function(
            f"window.__shown.slice(window.__shown.findIndex(faces => faces.length === 2)).length >= {SAMPLES}",
            timeout=60_000,
        )
        panel = page.locator("#panel-face").text_content()
        page.screenshot(path=artifacts_dir / "live_tracks.png", full_page=True)
        page.click("#stop")
        page.wait_for_selector("#status[data-state=stopped]", timeout=30_000)
        session_id = int(page.locator("#live").get_attribute("data-last-session"))

        recorded = page.evaluate("window.__shown")
        first = next(i for i, faces in enumerate(recorded) if len(faces) == 2)
        samples = recorded[first : first + SAMPLES]  # (Stop then empties the list)
        # A frame may miss a face now and then; the names stay the same all the same.
        assert sum(len(shown) == 2 for shown in samples) >= 0.8 * SAMPLES
        sides: dict[str, set[str]] = {}
        left_boxes = set()
        for shown in samples:
            assert {face["track"] for face in shown} <= {"1", "2"}, shown
            for face in shown:
                x = int(face["box"].split(",")[0])
                side = "left" if x < 320 else "right"
                sides.setdefault(face["track"], set()).add(side)
                assert face["text"].startswith(f"Face {face['track']}: ")
                if side == "left":
                    left_boxes.add(face["box"])
        assert sorted(sides.values(), key=sorted) == [{"left"}, {"right"}]  # each name stays with its face
        assert len(left_boxes) > 1  # ... while the left one moves
        assert panel in {"Face 1", "Face 2"}  # the bars say whose they are

        tracks = in_thread(lambda: set(Detection.objects.filter(session_id=session_id)
                                       .values_list("track", flat=True)))
        assert tracks >= {1, 2} and None not in tracks

        page.click("#status a")  # "See its charts."
        page.wait_for_url(f"{live_url}/history/{session_id}/")
        charts = page.locator("canvas[data-chart=timeline]")
        assert charts.count() == len(tracks)
        assert [charts.nth(i).get_attribute("data-track") for i in range(charts.count())] == [
            str(track) for track in sorted(tracks)]
        page.wait_for_function(
            "document.querySelectorAll('canvas[data-chart=timeline][data-rendered=true]').length === "
            + str(len(tracks)))
        assert page.locator(".track-title").first.text_content().startswith("Face 1")
        page.screenshot(path=artifacts_dir / "history_tracks.png", full_page=True)
    finally:
        context.close()
