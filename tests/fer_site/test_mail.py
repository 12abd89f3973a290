"""E-mail: an optional address at sign-up, SMTP from EMAIL_URL, and no reset link in any log."""

import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from fer_site.mail import CONSOLE_BACKEND, SMTP_BACKEND, UNDELIVERED_BACKEND, email_settings
from tests.fer_site.test_settings import STRONG_KEY, assert_refused, start

PASSWORD = "a-long-pass-phrase-9"


@pytest.mark.django_db
def test_sign_up_keeps_an_optional_email(client):
    response = client.post(reverse("signup"), {"username": "carol", "email": "carol@example.com",
                                               "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert get_user_model().objects.get(username="carol").email == "carol@example.com"
    client.logout()
    response = client.post(reverse("signup"), {"username": "dave", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert get_user_model().objects.get(username="dave").email == ""


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["not-an-address", "a@b@example.com", "carol@", "x" * 300 + "@example.com"])
def test_sign_up_refuses_a_malformed_email(client, email):
    response = client.post(reverse("signup"), {"username": "carol", "email": email,
                                               "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200 and "email" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="carol").exists()


@pytest.mark.django_db
def test_a_password_reset_mails_a_working_link(client):
    client.post(reverse("signup"), {"username": "carol", "email": "carol@example.com",
                                    "password1": PASSWORD, "password2": PASSWORD})
    client.logout()
    assert client.post(reverse("password_reset"), {"email": "carol@example.com"}).status_code == 302
    (message,) = mail.outbox
    assert message.to == ["carol@example.com"]
    link = re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()


def test_production_without_email_url_logs_undelivered_mail_without_its_body(caplog, settings):
    settings.EMAIL_BACKEND = UNDELIVERED_BACKEND
    with caplog.at_level(logging.WARNING, logger="fer_site.mail"):
        sent = mail.send_mail("Password reset", "https://site/accounts/reset/MQ/secret-token/", "a@example.com",
                              ["carol@example.com"])
    assert sent == 0
    assert "carol@example.com" in caplog.text and "Password reset" in caplog.text
    assert "secret-token" not in caplog.text


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://user:p%40ss@mail.example.com", {"EMAIL_HOST": "mail.example.com", "EMAIL_PORT": 587,
                                             "EMAIL_HOST_USER": "user", "EMAIL_HOST_PASSWORD": "p@ss",
                                             "EMAIL_USE_TLS": True, "EMAIL_USE_SSL": False}),
    ("smtps://u:p@mail.example.com:2465", {"EMAIL_PORT": 2465, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": True}),
    ("smtp+plain://relay", {"EMAIL_HOST": "relay", "EMAIL_PORT": 25, "EMAIL_HOST_USER": "",
                            "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False}),
])
def test_email_url_gives_the_smtp_settings(url, expected):
    resolved = email_settings(url, debug=False)
    assert resolved["EMAIL_BACKEND"] == SMTP_BACKEND
    assert expected.items() <= resolved.items()


def test_without_email_url_the_console_only_with_debug():
    assert email_settings("", debug=True) == {"EMAIL_BACKEND": CONSOLE_BACKEND}
    assert email_settings("", debug=False) == {"EMAIL_BACKEND": UNDELIVERED_BACKEND}
    assert email_settings("console://", debug=True) == {"EMAIL_BACKEND": CONSOLE_BACKEND}


@pytest.mark.parametrize("url", ["console://", "http://mail.example.com", "smtp://", "smtp://host:port"])
def test_unusable_email_urls_are_refused(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        email_settings(url, debug=False)


def test_start_up_refuses_console_mail_in_production():
    assert_refused(start(DEBUG="false", SECRET_KEY=STRONG_KEY, EMAIL_URL="console://"), "EMAIL_URL")


@pytest.mark.django_db
def test_the_account_page_sets_changes_and_removes_the_email(user_client, user):
    user.email = ""
    user.save()
    assert 'name="email"' in user_client.get(reverse("account")).content.decode()
    user_client.post(reverse("account_email"), {"email": "alice@example.org"})
    user.refresh_from_db()
    assert user.email == "alice@example.org"
    response = user_client.post(reverse("account_email"), {"email": "not-an-address"}, follow=True)
    assert "valid email" in response.content.decode()
    user.refresh_from_db()
    assert user.email == "alice@example.org"
    user_client.post(reverse("account_email"), {"email": ""})
    user.refresh_from_db()
    assert user.email == ""
    assert user_client.get(reverse("account_email")).status_code == 405
