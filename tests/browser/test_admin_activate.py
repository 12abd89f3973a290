"""The admin's "Activate this version" button, pressed in a real browser, activates the version."""

from __future__ import annotations

import pytest

from tests.browser.conftest import in_thread
from tests.factories import PASSWORD, ModelVersionFactory, StaffFactory
from training.models import ModelVersion

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_activate_button_on_the_version_page(browser, live_url, tiny_model_dir, artifacts_dir):
    in_thread(StaffFactory, username="root")
    version = in_thread(ModelVersionFactory, artifact_dir=str(tiny_model_dir))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_url}/admin/login/?next=/admin/training/modelversion/{version.pk}/change/")
        page.fill("#id_username", "root")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.click("input[value='Activate this version']")
        page.wait_for_selector(".messagelist")
        page.screenshot(path=artifacts_dir / "admin_activated.png", full_page=True)
        assert "was changed successfully" not in page.locator(".messagelist").text_content()
    finally:
        context.close()
    assert in_thread(lambda: ModelVersion.objects.get(is_active=True).pk) == version.pk
