"""axe-core over every page of the site, signed out and signed in: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.site_pages import ANONYMOUS_PAGES, signed_in_urls, user_with_a_session
from tests.browser.test_live_session import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_SOURCE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}
# Swagger UI's own widget (a vendored third-party app: nested controls, its colours) is not checked;
# the page around it is.
EXCLUDED = {"/api/docs/": ["#swagger-ui"]}
READY = {"/api/docs/": ".opblock"}  # what a page shows once its scripts have run
# Evaluated through the DevTools protocol, so the site's CSP (no inline scripts) stays in force.
RUN_AXE = """async (exclude) => {
  const result = await axe.run({ include: [document], exclude }, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map((node) => node.target.join(" ")) }));
}"""


def violations_on(page, url: str, axe_source: str, exclude: list[str] | None = None,
                  ready: str | None = None) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("load")
    if ready:
        page.wait_for_selector(ready)
    page.evaluate(axe_source)
    found = page.evaluate(RUN_AXE, [[selector] for selector in exclude or []])
    return [f"{url}: {v['impact']} {v['id']} ({v['help']}) at {v['targets']}"
            for v in found if v["impact"] in BLOCKING_IMPACTS]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_no_serious_accessibility_violations_on_any_page(browser, live_url, viewport):
    session_id = user_with_a_session(f"axe{viewport['width']}")
    axe_source = AXE_SOURCE.read_text()
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    try:
        for path in [*ANONYMOUS_PAGES, "/api/docs/"]:
            problems += violations_on(page, live_url + path, axe_source, EXCLUDED.get(path), READY.get(path))
        sign_in(page, live_url, f"axe{viewport['width']}")
        for url in signed_in_urls(live_url, session_id):
            problems += violations_on(page, url, axe_source)
    finally:
        context.close()
    assert problems == []
