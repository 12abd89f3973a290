"""Every page carries a strict Content-Security-Policy and a Permissions-Policy (camera: this site
only), and no page holds what that policy would block: inline scripts, inline styles, handlers."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import CaptureSessionFactory, DetectionFactory, ModelVersionFactory, TrainingJobFactory

pytestmark = pytest.mark.django_db

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}  # data, never run


class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' blocks: <script> without src, <style>,
    style="..." and on...="..." attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") not in DATA_SCRIPT_TYPES:
            self.blocked.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.blocked.append(f"<style> at line {self.getpos()[0]}")
        for name in attributes:
            if name == "style" or name.startswith("on"):
                self.blocked.append(f'<{tag} {name}="..."> at line {self.getpos()[0]}')


def blocked_inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.blocked


@pytest.fixture
def pages(staff, tmp_path) -> dict[str, str]:
    session = CaptureSessionFactory(user=staff)
    DetectionFactory.create_batch(3, session=session)
    version = ModelVersionFactory()
    job = TrainingJobFactory(state="RUNNING", metrics=version.metrics)
    return {
        "home": reverse("home"), "live": reverse("live"), "history": reverse("history"),
        "history detail": reverse("history-detail", args=[session.pk]), "videos": reverse("videos"),
        "gallery": reverse("gallery", args=["happy"]), "account": reverse("account"),
        "password change": reverse("password_change"), "api docs": reverse("api-docs"),
        "admin": reverse("admin:index"), "admin versions": reverse("admin:training_modelversion_changelist"),
        "admin version": reverse("admin:training_modelversion_change", args=[version.pk]),
        "admin retrain": reverse("admin:training_modelversion_retrain"),
        "admin job": reverse("admin:training_trainingjob_change", args=[job.pk]),
    }


def assert_policies(response) -> None:
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    for directive in ("default-src", "script-src", "style-src", "connect-src"):
        assert directives[directive] == "'self'", policy
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    features = dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))
    assert features["camera"] == "(self)" and features["microphone"] == "()" and features["geolocation"] == "()"


def test_every_page_has_the_policies_and_no_inline_code_they_would_block(staff_client, pages):
    for name, url in pages.items():
        response = staff_client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        assert_policies(response)
        assert blocked_inline_code(response.content.decode()) == [], name


@pytest.mark.parametrize("name", ["login", "signup", "password_reset"])
def test_anonymous_pages_too(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_policies(response)
    assert blocked_inline_code(response.content.decode()) == []


def test_the_api_docs_script_is_a_separate_same_origin_file(staff_client):
    response = staff_client.get(reverse("api-docs"), {"script": ""})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_api_answers_carry_the_policies_too(user_client):
    assert_policies(user_client.get(reverse("api-session-list")))


def test_the_checker_sees_what_a_strict_policy_blocks():
    html = ('<script>alert(1)</script><script src="/x.js"></script><script type="application/json">{}</script>'
            '<style>p{}</style><p style="x" onclick="y">')
    assert len(blocked_inline_code(html)) == 4


def test_no_template_holds_inline_code():
    """Every template, including those of pages the test above does not list (a page added later)."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    found = {str(path.relative_to(templates)): blocked_inline_code(path.read_text())
             for path in sorted(templates.rglob("*.html"))}
    assert len(found) > 10
    assert {name: blocked for name, blocked in found.items() if blocked} == {}
