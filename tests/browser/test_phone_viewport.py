"""A 390 px wide phone: no page scrolls sideways, the header shows every link whole, and nothing on a
page is refused by the Content Security Policy (Chromium reports each refusal on the console)."""

from __future__ import annotations

import pytest

from tests.browser.site_pages import ANONYMOUS_PAGES, signed_in_urls, user_with_a_session
from tests.browser.test_live_session import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# Links and buttons of the header that stick out of the viewport (cut off or hidden to the right).
HEADER_CUT_OFF = """() => [...document.querySelectorAll("header a, header button")]
  .filter((item) => item.getClientRects().length)
  .filter((item) => { const box = item.getBoundingClientRect(); return box.left < 0 || box.right > innerWidth; })
  .map((item) => item.textContent.trim())"""


def check_page(page, url: str, artifacts_dir, name: str) -> list[str]:
    refused: list[str] = []
    listener = lambda message: "Content Security Policy" in message.text and refused.append(message.text)  # noqa: E731
    page.on("console", listener)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.remove_listener("console", listener)
    problems = [f"{url}: {text}" for text in refused]
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"{url} is {width} px wide")
    cut = page.evaluate(HEADER_CUT_OFF)
    if cut:
        problems.append(f"{url}: header items cut off: {cut}")
    page.screenshot(path=artifacts_dir / f"phone_{name}.png", full_page=True)
    return problems


def test_no_page_scrolls_sideways_on_a_phone(browser, live_url, artifacts_dir):
    session_id = user_with_a_session("phoebe")
    problems: list[str] = []
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=1)
    page = context.new_page()
    try:
        for index, path in enumerate(ANONYMOUS_PAGES):
            problems += check_page(page, live_url + path, artifacts_dir, f"anonymous_{index}")
        sign_in(page, live_url, "phoebe")
        for index, url in enumerate(signed_in_urls(live_url, session_id)):
            problems += check_page(page, url, artifacts_dir, f"signed_in_{index}")
    finally:
        context.close()
    assert problems == []
