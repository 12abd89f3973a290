"""The privacy page: what is stored (never frames), who sees it, how long; linked from every page and the live page."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_privacy_page_is_public_and_says_what_is_stored(client):
    response = client.get(reverse("privacy"))
    assert response.status_code == 200
    html = response.content.decode()
    for words in ("Never the camera's frames", "user agent", "Who can see it", "How long it is kept",
                  "no time limit"):
        assert words in html


def test_privacy_page_states_the_retention_when_set(client, settings):
    settings.DETECTION_RETENTION_DAYS = 30
    html = client.get(reverse("privacy")).content.decode()
    assert "deleted automatically 30 days after" in html and "no time limit" not in html


def test_footer_links_to_the_privacy_page(client):
    assert f'href="{reverse("privacy")}"' in client.get(reverse("home")).content.decode()


def test_live_page_asks_for_consent_near_start_and_links_the_privacy_page(user_client):
    html = user_client.get(reverse("live")).content.decode()
    consent = html.index('id="consent"')
    assert html.index('id="start"') < consent
    assert "other people may be in view" in html[consent:consent + 300]
    assert f'href="{reverse("privacy")}">What is stored' in html
