"""A whole live session in a real browser: sign in, stream the fake camera, stop, see the charts."""

from __future__ import annotations

import pytest

from emotions.models import CaptureSession, Detection
from emotions.selectors import session_track_timelines
from tests.browser.conftest import in_thread
from tests.factories import PASSWORD, UserFactory
from training.core.labels import EMOTIONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FACE_TIMEOUT_MS = 90_000  # the first frames wait for the model to load on a busy machine


def sign_in(page, live_url: str, username: str) -> None:
    """Through the login page, as a person would; lands on /live/."""
    page.goto(f"{live_url}/accounts/login/?next=/live/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/live/")


def test_live_session_is_recognised_stored_and_charted(browser, live_url, recognition_model, artifacts_dir):
    in_thread(UserFactory, username="carol")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    failed_requests: list[str] = []
    page.on("response", lambda response: response.status >= 400 and failed_requests.append(response.url))
    try:
        sign_in(page, live_url, "carol")

        page.click("#start")
        face = page.wait_for_selector("#faces li[data-emotion]", timeout=FACE_TIMEOUT_MS)
        assert face.get_attribute("data-emotion") in EMOTIONS
        x, y, width, height = (int(v) for v in face.get_attribute("data-box").split(","))
        assert width > 40 and height > 40 and 0 <= x < 640 and 0 <= y < 480
        assert 0 < float(face.get_attribute("data-confidence")) <= 1
        page.wait_for_function("document.getElementById('fps').textContent.endsWith('fps')")
        assert page.locator("#status").get_attribute("data-state") in {"running", "error"}
        page.wait_for_timeout(1500)  # a few more frames, for the chart and the screenshot
        page.screenshot(path=artifacts_dir / "live.png", full_page=True)

        page.click("#stop")
        page.wait_for_selector("#status[data-state=stopped]", timeout=30_000)
        session_id = int(page.locator("#live").get_attribute("data-last-session"))

        session = in_thread(CaptureSession.objects.select_related("user").get, pk=session_id)
        assert session.user.username == "carol"
        assert session.ended_at is not None
        assert session.model_label == recognition_model.name
        assert session.frames_processed >= 2
        assert session.frames_received >= session.frames_processed
        assert session.client_info["frame_size"] == [640, 480]
        assert "Chrome" in session.client_info["user_agent"]
        detections = in_thread(lambda: list(Detection.objects.filter(session_id=session_id)))
        assert len(detections) >= 2
        assert all(d.face_index == 0 and d.width > 40 and d.emotion in EMOTIONS for d in detections)

        page.click("#status a")  # "See its charts."
        page.wait_for_url(f"{live_url}/history/{session_id}/")
        # One chart per tracked face: here the one face, "Face 1" in every frame.
        assert {d.track for d in detections} == {1}
        page.wait_for_selector("#timeline-chart-1[data-rendered=true]")
        page.wait_for_selector("#distribution-chart[data-rendered=true]")
        assert page.evaluate("Chart.getChart(document.getElementById('timeline-chart-1')).data.datasets.length") == 7
        points = page.evaluate(
            "Chart.getChart(document.getElementById('timeline-chart-1')).data.datasets[0].data.length")
        # One point per detection, except detections within one time bucket (~10 ms here), averaged.
        (timeline,) = in_thread(lambda: session_track_timelines(session=CaptureSession.objects.get(pk=session_id)))
        assert points == len(timeline["seconds"]) and 2 <= points <= len(detections)
        page.screenshot(path=artifacts_dir / "history_detail.png", full_page=True)

        page.goto(f"{live_url}/history/")
        page.wait_for_selector("#daily-chart[data-rendered=true]")
        assert page.locator(f"tr[data-session='{session_id}']").count() == 1
        page.screenshot(path=artifacts_dir / "history.png", full_page=True)
        assert [url for url in failed_requests if not url.endswith("/favicon.ico")] == []
        assert [text for text in console_errors if "Failed to load resource" not in text] == []
    finally:
        context.close()


# Keeps every WebSocket the page opens reachable from the test, to cut the connection.
TRACK_SOCKETS = """
window.__sockets = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""


def test_a_dropped_connection_resumes_the_same_session_at_full_pace(browser, live_url, recognition_model):
    in_thread(UserFactory, username="dave")
    context = browser.new_context(bypass_csp=True)  # the test's own page functions; the page runs as served
    context.add_init_script(TRACK_SOCKETS)
    page = context.new_page()
    try:
        sign_in(page, live_url, "dave")
        page.click("#start")
        page.wait_for_selector("#faces li[data-emotion]", timeout=FACE_TIMEOUT_MS)
        first_session = page.locator("#session").text_content()

        page.evaluate("window.__sockets.at(-1).close()")
        page.wait_for_selector("#status[data-state=reconnecting]")
        assert "connection to the server dropped" in page.locator("#status").text_content()
        page.wait_for_function("window.__sockets.length === 2 && window.__sockets.at(-1).readyState === 1",
                               timeout=30_000)
        assert "resume=" in page.evaluate("window.__sockets.at(-1).url")
        page.wait_for_selector("#status[data-state=running]", timeout=30_000)
        assert page.locator("#session").text_content() == first_session
        before = in_thread(lambda: CaptureSession.objects.get(user__username="dave").frames_processed)
        page.wait_for_timeout(4000)  # the page numbers frames anew with each connection: no stall
        after = in_thread(lambda: CaptureSession.objects.get(user__username="dave").frames_processed)
        assert after - before >= 8, f"only {after - before} frames answered in 4 s after the resume"
        page.click("#stop")
        page.wait_for_selector("#status[data-state=stopped]", timeout=30_000)
    finally:
        context.close()

    (session,) = in_thread(lambda: list(CaptureSession.objects.filter(user__username="dave")))
    assert session.ended_at is not None and session.end_reason == "stopped" and session.reconnects == 1


def test_a_refused_camera_is_explained(browser, live_url):
    in_thread(UserFactory, username="erin")
    context = browser.new_context()
    context.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    )
    page = context.new_page()
    try:
        sign_in(page, live_url, "erin")
        page.click("#start")
        page.wait_for_selector("#status[data-state=refused]")
        assert "Camera access was refused" in page.locator("#status").text_content()
        assert page.locator("#start").is_enabled() and page.locator("#stop").is_disabled()
    finally:
        context.close()
    assert in_thread(CaptureSession.objects.filter(user__username="erin").count) == 0
