"""API tokens: obtained with username and password, shown and regenerated on the account page."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_obtain_token_with_username_and_password(api_client, user, password):
    response = api_client.post(reverse("api-token"), {"username": user.username, "password": password})
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=user).key == key
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get(reverse("api-session-list")).status_code == 200


def test_wrong_password_gets_no_token(api_client, user):
    response = api_client.post(reverse("api-token"), {"username": user.username, "password": "wrong"})
    assert response.status_code == 400
    assert not Token.objects.filter(user=user).exists()


def test_account_page_offers_a_token_then_shows_it(user_client, user):
    page = user_client.get(reverse("account")).content.decode()
    assert "You have no API token yet" in page and "Create token" in page
    response = user_client.post(reverse("regenerate_token"))
    assert response.status_code == 302 and response["Location"] == reverse("account")
    key = Token.objects.get(user=user).key
    page = user_client.get(reverse("account")).content.decode()
    assert key in page and "Regenerate token" in page


def test_regenerating_revokes_the_old_token(user_client, user):
    old = Token.objects.create(user=user).key
    user_client.post(reverse("regenerate_token"), {"confirm": "on"})
    new = Token.objects.get(user=user).key
    assert new != old
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert client.get(reverse("api-session-list")).status_code == 401


def test_regenerate_needs_a_logged_in_post(client, user_client):
    assert user_client.get(reverse("regenerate_token")).status_code == 405
    user_client.logout()
    response = client.post(reverse("regenerate_token"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_first_token_does_not_mention_a_previous_one(user_client, user):
    page = user_client.post(reverse("regenerate_token"), follow=True).content.decode()
    assert Token.objects.filter(user=user).exists()
    assert "previous" not in page and "Your API token is ready" in page


def test_regenerating_needs_a_confirmation(user_client, user):
    old = Token.objects.create(user=user).key
    page = user_client.get(reverse("account")).content.decode()
    assert 'name="confirm"' in page and "stops working" in page
    page = user_client.post(reverse("regenerate_token"), follow=True).content.decode()
    assert Token.objects.get(user=user).key == old  # nothing changed without the confirmation
    assert "Tick the box" in page
    page = user_client.post(reverse("regenerate_token"), {"confirm": "on"}, follow=True).content.decode()
    assert Token.objects.get(user=user).key != old
    assert "the previous one no longer works" in page


def test_the_token_has_a_copy_button_run_by_a_static_script(user_client, user):
    Token.objects.create(user=user)
    page = user_client.get(reverse("account")).content.decode()
    assert 'data-copy="api-token"' in page and "/static/js/copy.js" in page
    assert "<script>" not in page  # no inline script: the CSP forbids it
