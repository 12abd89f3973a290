"""Accessibility of the site's pages: contrast of the emotion colours, skip link, nav marker, charts, favicon."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import CaptureSessionFactory, DetectionFactory
from training.core.labels import EMOTIONS

pytestmark = pytest.mark.django_db

SITE_CSS = Path(settings.BASE_DIR) / "static" / "css" / "site.css"
WCAG_AA = 4.5


def luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_helper_matches_known_values():
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_text_on_each_emotion_colour_passes_wcag_aa(emotion):
    css = SITE_CSS.read_text()
    background = re.search(rf"--{emotion}:\s*(#[0-9a-fA-F]{{6}})", css).group(1)
    # The text colour of the emotion's pill: its own rule's colour, or the white of `.emotion` / `.pill`.
    own = re.search(rf"\.emotion\.{emotion} \{{[^}}]*?color:\s*(#[0-9a-fA-F]{{3,6}})", css)
    text = own.group(1) if own else "#ffffff"
    text = "#" + "".join(c * 2 for c in text[1:]) if len(text) == 4 else text
    assert contrast(background, text) >= WCAG_AA, (emotion, background, text)


@pytest.fixture
def session(user):
    session = CaptureSessionFactory(user=user)
    DetectionFactory(session=session)
    return session


def test_pages_have_a_skip_link_to_the_main_content(client):
    html = client.get(reverse("home")).content.decode()
    assert re.search(r'<a class="skip-link" href="#main">Skip to content</a>', html)
    assert '<main id="main"' in html
    assert html.index("skip-link") < html.index('<header')


@pytest.mark.parametrize(("name", "current"), [("live", "Live"), ("history", "History")])
def test_the_nav_marks_the_current_page(user_client, name, current):
    html = user_client.get(reverse(name)).content.decode()
    marked = re.findall(r'<a href="[^"]*" aria-current="page">([^<]*)</a>', html)
    assert marked == [current]


def test_a_session_page_marks_history_as_current(user_client, session):
    html = user_client.get(reverse("history-detail", args=[session.pk])).content.decode()
    assert re.findall(r'<a href="[^"]*" aria-current="page">([^<]*)</a>', html) == ["History"]


def test_chart_canvases_are_labelled_images(user_client, session):
    pages = [user_client.get(reverse(name, args=args)).content.decode()
             for name, args in (("history", []), ("history-detail", [session.pk]), ("live", []))]
    canvases = [tag for html in pages for tag in re.findall(r"<canvas[^>]*>", html) if "hidden" not in tag]
    assert len(canvases) == 5  # daily; a timeline and the distribution; the live overlay and its rolling chart
    for tag in canvases:
        assert 'role="img"' in tag and re.search(r'aria-label="[^"]+"', tag), tag


def test_pages_link_a_favicon_that_is_served(client):
    html = client.get(reverse("home")).content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    assert href.endswith("favicon.svg")
    svg = (Path(settings.BASE_DIR) / "static" / "favicon.svg").read_text()
    assert svg.startswith("<svg") and "</svg>" in svg
