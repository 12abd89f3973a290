import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_sign_up_creates_user_and_logs_in(client):
    response = client.post(reverse("signup"), {"username": "carol", "password1": "a-long-pass-phrase-9",
                                               "password2": "a-long-pass-phrase-9"})
    assert response.status_code == 302
    assert response["Location"] == reverse("live")
    assert get_user_model().objects.filter(username="carol").exists()
    assert client.get(reverse("account")).status_code == 200


def test_sign_up_rejects_mismatched_passwords(client):
    response = client.post(reverse("signup"), {"username": "carol", "password1": "a-long-pass-phrase-9",
                                               "password2": "another-pass-phrase-9"})
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="carol").exists()


def test_log_in_and_log_out(client, user, password):
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302
    assert client.get(reverse("account")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("account")).status_code == 302


def test_log_in_with_wrong_password_fails(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_change(client, user, password):
    client.force_login(user)
    response = client.post(reverse("password_change"), {"old_password": password,
                                                        "new_password1": "brand-new-pass-phrase-7",
                                                        "new_password2": "brand-new-pass-phrase-7"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-pass-phrase-7")


@pytest.mark.parametrize("name", ["live", "history", "account", "password_change"])
def test_private_pages_redirect_anonymous_users_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_nav_shows_admin_link_to_staff_only(client, user, staff):
    client.force_login(user)
    assert reverse("admin:index") not in client.get(reverse("home")).content.decode()
    client.force_login(staff)
    assert reverse("admin:index") in client.get(reverse("home")).content.decode()
