"""Deleting a session from the history page, through its confirmation, on a 390 px phone; the new pages
(privacy, the account's data controls, the history filters) do not scroll sideways there."""

from __future__ import annotations

import pytest

from emotions.models import CaptureSession
from tests.browser.conftest import in_thread
from tests.browser.site_pages import user_with_a_session
from tests.browser.test_live_session import sign_in
from tests.browser.test_phone_viewport import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE_WIDTH = "document.documentElement.scrollWidth"


def test_delete_a_session_from_the_history_page_after_confirming(browser, live_url, artifacts_dir):
    session_id = user_with_a_session("dora")
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=1)
    page = context.new_page()
    try:
        sign_in(page, live_url, "dora")
        for path, ready in (("/privacy/", "h1"), ("/accounts/profile/", "text=Delete my account"),
                            ("/history/", "form.filters")):
            page.goto(live_url + path)
            page.wait_for_selector(ready)
            assert page.evaluate(PAGE_WIDTH) <= PHONE["width"], f"{path} scrolls sideways"
        page.screenshot(path=artifacts_dir / "phone_history_filters.png", full_page=True)

        page.click(f"tr[data-session='{session_id}'] >> text=Delete")
        page.wait_for_url(f"{live_url}/history/{session_id}/delete/")
        assert page.evaluate(PAGE_WIDTH) <= PHONE["width"]
        assert in_thread(CaptureSession.objects.filter(pk=session_id).exists)  # asking deletes nothing

        page.click("#confirm-delete")
        page.wait_for_url(f"{live_url}/history/")
        assert "Deleted session" in page.locator(".messages").text_content()
        assert page.locator(f"tr[data-session='{session_id}']").count() == 0
        assert not in_thread(CaptureSession.objects.filter(pk=session_id).exists)
    finally:
        context.close()
