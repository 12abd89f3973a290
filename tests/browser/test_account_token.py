"""The account page's API token: created, copied with the button, regenerated only when confirmed."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from tests.browser.conftest import in_thread
from tests.browser.test_live_session import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_copy_and_confirm_regenerating_the_token(browser, live_url, artifacts_dir):
    in_thread(UserFactory, username="tokens")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        sign_in(page, live_url, "tokens")
        page.goto(f"{live_url}/accounts/profile/")
        page.click("text=Create token")
        assert "Your API token is ready" in page.locator(".messages").text_content()
        key = page.locator("#api-token").text_content().strip()
        page.click("button[data-copy=api-token]")
        page.wait_for_function("document.querySelector('.copy-status').textContent === 'Copied.'")
        assert page.evaluate("navigator.clipboard.readText()") == key

        page.click("text=Regenerate token")  # the required box is not ticked: the browser does not submit
        assert in_thread(lambda: Token.objects.get(user__username="tokens").key) == key
        page.check("input[name=confirm]")
        page.click("text=Regenerate token")
        page.wait_for_selector(".messages")
        assert "previous one no longer works" in page.locator(".messages").text_content()
        assert page.locator("#api-token").text_content().strip() != key
        page.screenshot(path=artifacts_dir / "account.png", full_page=True)
    finally:
        context.close()
