"""The account page's data controls: delete all my data, delete my account (password required)."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import services
from emotions.models import CaptureSession, Detection, VideoAnalysis
from tests.factories import CaptureSessionFactory, DetectionFactory

pytestmark = pytest.mark.django_db


def sessions_of(user, count: int = 2) -> list[CaptureSession]:
    sessions = [CaptureSessionFactory(user=user) for _ in range(count)]
    for session in sessions:
        DetectionFactory(session=session)
    return sessions


def video_session_of(user, tmp_path: Path) -> Path:
    """A video session whose kept file is on disk; returns the file."""
    stored = tmp_path / f"{user.username}.mp4"
    stored.write_bytes(b"not really a video")
    session = CaptureSessionFactory(user=user, kind=CaptureSession.Kind.VIDEO)
    VideoAnalysis.objects.create(session=session, file_name="clip.mp4", stored_path=str(stored), keep_file=True)
    return stored


def test_account_page_offers_export_and_both_deletions(user_client):
    html = user_client.get(reverse("account")).content.decode()
    for name in ("account_delete_data", "account_delete", "history-export-all-csv", "history-export-all-json"):
        assert reverse(name) in html
    assert 'name="password"' in html and 'name="confirm"' in html


def test_delete_all_my_data_removes_own_sessions_detections_and_videos_only(user_client, user, other_user, tmp_path,
                                                                            django_capture_on_commit_callbacks):
    sessions_of(user)
    video = video_session_of(user, tmp_path)
    theirs = sessions_of(other_user)
    their_video = video_session_of(other_user, tmp_path)

    with django_capture_on_commit_callbacks(execute=True):  # the files go once the deletion commits
        response = user_client.post(reverse("account_delete_data"), {"confirm": "on"})

    assert response.status_code == 302 and response["Location"] == reverse("account")
    assert not CaptureSession.objects.filter(user=user).exists()
    assert not Detection.objects.filter(session__user=user).exists()
    assert not video.exists()
    assert CaptureSession.objects.filter(user=other_user).count() == len(theirs) + 1
    assert Detection.objects.filter(session__user=other_user).count() == len(theirs)
    assert their_video.exists()
    assert get_user_model().objects.filter(pk=user.pk).exists()  # the account stays


def test_delete_all_my_data_needs_the_confirmation_box(user_client, user):
    sessions_of(user)
    response = user_client.post(reverse("account_delete_data"))
    assert response.status_code == 302
    assert CaptureSession.objects.filter(user=user).count() == 2


@pytest.mark.parametrize("name", ["account_delete_data", "account_delete"])
def test_deletions_are_post_only(user_client, name):
    assert user_client.get(reverse(name)).status_code == 405


@pytest.mark.parametrize("name", ["account_delete_data", "account_delete"])
def test_deletions_need_the_csrf_token(user, name):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse(name), {"confirm": "on", "password": "x"}).status_code == 403
    assert get_user_model().objects.filter(pk=user.pk).exists()


def test_delete_account_with_the_wrong_password_is_refused(user_client, user):
    sessions_of(user)
    response = user_client.post(reverse("account_delete"), {"password": "not-my-password"})
    assert response.status_code == 400
    assert "not your password" in response.content.decode()
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert CaptureSession.objects.filter(user=user).count() == 2
    assert user_client.get(reverse("account")).status_code == 200  # still signed in


def test_delete_account_deletes_everything_and_signs_out(user_client, user, other_user, password, tmp_path,
                                                         django_capture_on_commit_callbacks):
    sessions_of(user)
    video = video_session_of(user, tmp_path)
    Token.objects.create(user=user)
    sessions_of(other_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(reverse("account_delete"), {"password": password})

    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not CaptureSession.objects.filter(user_id=user.pk).exists()
    assert not Detection.objects.filter(session__user_id=user.pk).exists()
    assert not Token.objects.filter(user_id=user.pk).exists()
    assert not video.exists()
    assert CaptureSession.objects.filter(user=other_user).count() == 2
    assert "_auth_user_id" not in user_client.session
    assert user_client.get(reverse("account")).status_code == 302


def test_delete_account_service_checks_the_password(user, password):
    assert services.delete_account(user=user, password="wrong") is False
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert services.delete_account(user=user, password=password) is True
    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_guessing_the_password_on_delete_account_counts_towards_the_lockout(user_client, user, password, settings):
    """A stolen signed-in session cannot try passwords freely: wrong ones count as failed sign-ins,
    and once locked out even the right one deletes nothing."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        user_client.post(reverse("account_delete"), {"password": "a-guess"})
    response = user_client.post(reverse("account_delete"), {"password": password})
    assert response.status_code in (403, 429)
    assert get_user_model().objects.filter(pk=user.pk).exists()
