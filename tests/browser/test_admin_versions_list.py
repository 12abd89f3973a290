"""The versions list at 1280 px, in a real browser: it fits the window with the active flag in
view, warns that a smoke run's figures do not compare, and activating a worse model asks first."""

from __future__ import annotations

import pytest

from tests.browser.conftest import in_thread
from tests.factories import PASSWORD, ModelVersionFactory, StaffFactory
from training.models import ModelVersion
from training.services import registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1280


def scoring(accuracy: float, n: int, **fields) -> ModelVersion:
    version = ModelVersionFactory(**fields)
    version.metrics.update(accuracy=accuracy, n=n, split=version.split)
    version.save(update_fields=["metrics"])
    return version


def versions(model_dir: str) -> tuple[ModelVersion, ModelVersion]:
    """The active full model, a slightly worse one measured alike, and a smoke run on 100 faces."""
    active = scoring(0.705, 3589, name="fernet-deep-ensemble-swa-2026-11-30", architecture="ensemble",
                     artifact_dir=model_dir)
    registry.activate_model_version(active)
    worse = scoring(0.684, 3589, name="fernet-deep-fine-tuned-own-faces-lr2e-4", architecture="fernet_deep",
                    artifact_dir=model_dir)
    scoring(0.18, 100, name="tiny-smoke-run-one-epoch", artifact_dir=model_dir)
    return active, worse


def test_the_versions_list_fits_1280_px_and_a_worse_model_asks_first(browser, live_url, tiny_model_dir,
                                                                        artifacts_dir):
    in_thread(StaffFactory, username="root")
    active, worse = in_thread(versions, str(tiny_model_dir))
    # bypass_csp: the test reads the page's width with a script of its own.
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{live_url}/admin/login/?next=/admin/training/modelversion/")
        page.fill("#id_username", "root")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#result_list")
        page.screenshot(path=artifacts_dir / "admin_versions_list.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        # ... and the list itself does not scroll sideways inside its box (the admin's .results).
        assert page.evaluate("(() => { const box = document.querySelector('.results');"
                             " return box.scrollWidth <= box.clientWidth; })()")
        header = page.locator("#result_list th.column-is_active").bounding_box()
        assert header is not None and header["x"] + header["width"] <= WIDTH
        assert page.locator("#comparability-warning").is_visible()
        smoke = page.locator("#result_list tr", has_text="tiny-smoke-run-one-epoch")
        assert smoke.locator(".training-incomparable").is_visible()
        assert "n=100" in smoke.text_content()

        page.locator("#result_list tr", has_text=worse.name).locator("input.action-select").check()
        page.select_option("select[name=action]", "activate_selected")
        page.click("button[name=index]")
        page.wait_for_selector("#activation-downgrade")
        page.screenshot(path=artifacts_dir / "admin_activate_confirmation.png", full_page=True)
        text = page.locator("#content-main").text_content()
        assert "0.7050" in text and "0.6840" in text
        assert in_thread(lambda: ModelVersion.objects.get(is_active=True).pk) == active.pk
        page.click(f"input[value='Yes, activate {worse.name}']")
        page.wait_for_selector(".messagelist")
        assert "is now the active model" in page.locator(".messagelist").text_content()
        page.screenshot(path=artifacts_dir / "admin_version_page.png", full_page=True)
    finally:
        context.close()
    assert in_thread(lambda: ModelVersion.objects.get(is_active=True).pk) == worse.pk
