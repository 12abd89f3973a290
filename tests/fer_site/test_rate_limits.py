"""Rate limits: the log-in lock-out (page and token endpoint), API throttles; 429 with Retry-After."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return settings.AXES_COOLOFF_TIME.total_seconds()


def test_the_login_page_locks_out_after_the_failure_limit_even_for_the_right_password(client, user, password,
                                                                                      lockout):
    url = reverse("login")
    for _ in range(2):
        assert client.post(url, {"username": user.username, "password": WRONG}).status_code == 200  # the form again
    response = client.post(url, {"username": user.username, "password": WRONG})
    assert response.status_code == 429
    response = client.post(url, {"username": user.username, "password": password})
    assert response.status_code == 429
    assert int(response["Retry-After"]) == lockout
    assert "Too many failed log-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_out_is_per_username_and_a_success_before_it_resets_the_count(client, user, other_user, password,
                                                                              lockout):
    url = reverse("login")
    for _ in range(2):
        client.post(url, {"username": user.username, "password": WRONG})
    assert client.post(url, {"username": user.username, "password": password}).status_code == 302
    client.logout()
    for _ in range(2):
        client.post(url, {"username": user.username, "password": WRONG})
    assert client.post(url, {"username": user.username, "password": password}).status_code == 302  # reset
    client.logout()
    for _ in range(3):
        client.post(url, {"username": other_user.username, "password": WRONG})
    assert client.post(url, {"username": other_user.username, "password": password}).status_code == 429
    assert client.post(url, {"username": user.username, "password": password}).status_code == 302


def test_the_admin_login_locks_out_too(client, staff, password, lockout):
    url = reverse("admin:login")
    for _ in range(3):
        client.post(url, {"username": staff.username, "password": WRONG})
    response = client.post(url, {"username": staff.username, "password": password})
    assert response.status_code == 429 and int(response["Retry-After"]) == lockout
    assert client.get(reverse("admin:index")).status_code == 302  # still signed out


def test_the_token_endpoint_locks_out_with_json_429(api_client, user, password, lockout):
    url = reverse("api-token")
    for _ in range(2):
        assert api_client.post(url, {"username": user.username, "password": WRONG}).status_code == 400
    assert api_client.post(url, {"username": user.username, "password": WRONG}).status_code == 429  # the 3rd
    response = api_client.post(url, {"username": user.username, "password": password})
    assert response.status_code == 429
    assert int(response["Retry-After"]) == lockout
    assert "Too many failed log-ins" in response.json()["detail"]


def test_predict_is_throttled_per_user(settings, alice_api, user):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "predict": "2/minute"}
    upload = lambda: {"image": SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")}  # noqa: E731
    for _ in range(2):
        assert alice_api.post(reverse("api-predict"), upload(), format="multipart").status_code == 400
    response = alice_api.post(reverse("api-predict"), upload(), format="multipart")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert alice_api.get(reverse("api-session-list")).status_code == 200  # other endpoints: the user rate


def test_the_user_rate_covers_every_endpoint(settings, alice_api):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "3/minute"}
    for name in ("api-session-list", "api-stats", "api-model-list"):
        assert alice_api.get(reverse(name)).status_code == 200
    response = alice_api.get(reverse("api-session-list"))
    assert response.status_code == 429 and "Retry-After" in response


def test_anonymous_requests_are_throttled_per_address(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "2/minute"}
    client = APIClient()
    for _ in range(2):
        assert client.post(reverse("api-token"), {"username": "x", "password": "y"}).status_code == 400
    assert client.post(reverse("api-token"), {"username": "x", "password": "y"}).status_code == 429
    # A forged X-Forwarded-For names another address: not believed without a trusted proxy.
    response = client.post(reverse("api-token"), {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 429
