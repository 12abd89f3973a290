"""Times read in the browser's own time zone, not in UTC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.browser.site_pages import user_with_a_session
from tests.browser.test_live_session import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_session_times_are_shown_in_the_browsers_zone(browser, live_url):
    session_id = user_with_a_session("tokyo")
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-GB")
    page = context.new_page()
    try:
        sign_in(page, live_url, "tokyo")
        for url in (f"{live_url}/history/", f"{live_url}/history/{session_id}/"):
            page.goto(url)
            element = page.wait_for_selector("time.local-time[data-localised=true]")
            moment = datetime.fromisoformat(element.get_attribute("datetime")).astimezone(ZoneInfo("Asia/Tokyo"))
            text = element.text_content()
            assert moment.strftime("%H:%M") in text and "UTC" not in text, text
            assert "Asia/Tokyo" in element.get_attribute("title")
    finally:
        context.close()
