"""Deleting a session (page and API), giving it a title and a note; only the owner may."""

import pytest
from django.test import Client
from django.urls import reverse

from emotions.models import CaptureSession, Detection
from tests.factories import CaptureSessionFactory, DetectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(user):
    session = CaptureSessionFactory(user=user)
    DetectionFactory(session=session)
    return session


def test_history_and_session_pages_link_to_the_deletion(user_client, session):
    delete_url = reverse("history-delete", args=[session.pk])
    assert delete_url in user_client.get(reverse("history")).content.decode()
    assert delete_url in user_client.get(reverse("history-detail", args=[session.pk])).content.decode()


def test_deleting_asks_to_confirm_first(user_client, session):
    response = user_client.get(reverse("history-delete", args=[session.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Delete this session?" in html and 'method="post"' in html and "csrfmiddlewaretoken" in html
    assert CaptureSession.objects.filter(pk=session.pk).exists()


def test_deleting_removes_the_session_and_its_detections(user_client, session):
    response = user_client.post(reverse("history-delete", args=[session.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("history")
    assert not CaptureSession.objects.filter(pk=session.pk).exists()
    assert not Detection.objects.filter(session_id=session.pk).exists()


def test_deleting_needs_the_csrf_token(user, session):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("history-delete", args=[session.pk])).status_code == 403
    assert CaptureSession.objects.filter(pk=session.pk).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_users_session_cannot_be_deleted_nor_annotated(user_client, other_user, method):
    theirs = CaptureSessionFactory(user=other_user, title="theirs")
    DetectionFactory(session=theirs)
    assert getattr(user_client, method)(reverse("history-delete", args=[theirs.pk])).status_code == 404
    assert user_client.post(reverse("history-annotate", args=[theirs.pk]),
                            {"title": "mine now", "note": ""}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "theirs" and theirs.detections.count() == 1


def test_title_and_note_are_saved_and_shown(user_client, session):
    response = user_client.post(reverse("history-annotate", args=[session.pk]),
                                {"title": "  Team meeting ", "note": "Monday stand-up\nwith Ana"})
    assert response.status_code == 302 and response["Location"] == reverse("history-detail", args=[session.pk])
    session.refresh_from_db()
    assert (session.title, session.note) == ("Team meeting", "Monday stand-up\nwith Ana")
    assert "Team meeting" in user_client.get(reverse("history")).content.decode()
    detail = user_client.get(reverse("history-detail", args=[session.pk])).content.decode()
    assert "<h1>Team meeting" in detail and "Monday stand-up<br>with Ana" in detail


def test_a_title_too_long_is_refused(user_client, session):
    too_long = "x" * (CaptureSession.TITLE_MAX_LENGTH + 1)
    user_client.post(reverse("history-annotate", args=[session.pk]), {"title": too_long, "note": ""})
    session.refresh_from_db()
    assert session.title == ""


def test_annotating_is_post_only(user_client, session):
    assert user_client.get(reverse("history-annotate", args=[session.pk])).status_code == 405


# --- the same through the API ---


def test_api_renames_and_annotates_a_session(alice_api, session):
    url = reverse("api-session-detail", args=[session.pk])
    response = alice_api.patch(url, {"title": "Lecture", "note": "row 3"}, format="json")
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["note"]) == ("Lecture", "row 3")
    response = alice_api.patch(url, {"note": ""}, format="json")
    assert (response.json()["title"], response.json()["note"]) == ("Lecture", "")
    session.refresh_from_db()
    assert (session.title, session.note) == ("Lecture", "")


def test_api_patch_leaves_the_other_fields_alone(alice_api, session):
    url = reverse("api-session-detail", args=[session.pk])
    response = alice_api.patch(url, {"model_label": "forged", "frames_received": 99}, format="json")
    assert response.status_code == 200
    session.refresh_from_db()
    assert (session.model_label, session.frames_received) == ("test-model", 0)


def test_api_has_no_put(alice_api, session):
    url = reverse("api-session-detail", args=[session.pk])
    assert alice_api.put(url, {"title": "x", "note": ""}, format="json").status_code == 405


def test_api_refuses_a_title_too_long(alice_api, session):
    url = reverse("api-session-detail", args=[session.pk])
    too_long = "x" * (CaptureSession.TITLE_MAX_LENGTH + 1)
    assert alice_api.patch(url, {"title": too_long}, format="json").status_code == 400


def test_api_another_users_session_is_404_for_patch_and_delete(alice_api, other_user):
    theirs = CaptureSessionFactory(user=other_user, title="theirs")
    url = reverse("api-session-detail", args=[theirs.pk])
    assert alice_api.patch(url, {"title": "mine"}, format="json").status_code == 404
    assert alice_api.delete(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "theirs"
