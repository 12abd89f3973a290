"""Every endpoint and verb for anonymous, user A (the owner), user B and staff.

Nobody sees another user's sessions (404, not 403: their existence is not revealed), only staff
may run jobs or activate a model (403), and anonymous requests are asked to authenticate (401).
"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import (
    CaptureSessionFactory,
    DetectionFactory,
    ModelVersionFactory,
    StaffFactory,
    TrainingJobFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "alice", "bob", "staff")

# (method, url name, object the URL names, body, expected status for anonymous, alice, bob, staff)
MATRIX = [
    ("get", "api-session-list", None, None, (401, 200, 200, 200)),
    ("post", "api-session-list", None, {}, (401, 405, 405, 405)),
    ("get", "api-session-detail", "session", None, (401, 200, 404, 404)),
    ("put", "api-session-detail", "session", {}, (401, 405, 405, 405)),
    ("patch", "api-session-detail", "session", {}, (401, 405, 405, 405)),
    ("delete", "api-session-detail", "session", None, (401, 204, 404, 404)),
    ("get", "api-session-detections", "session", None, (401, 200, 404, 404)),
    ("post", "api-session-detections", "session", {}, (401, 405, 405, 405)),
    ("get", "api-session-summary", "session", None, (401, 200, 404, 404)),
    ("get", "api-stats", None, None, (401, 200, 200, 200)),
    ("post", "api-stats", None, {}, (401, 405, 405, 405)),
    ("post", "api-predict", None, {}, (401, 400, 400, 400)),
    ("get", "api-predict", None, None, (401, 405, 405, 405)),
    ("get", "api-model-list", None, None, (401, 200, 200, 200)),
    ("post", "api-model-list", None, {}, (401, 405, 405, 405)),
    ("get", "api-model-detail", "version", None, (401, 200, 200, 200)),
    ("delete", "api-model-detail", "version", None, (401, 405, 405, 405)),
    ("post", "api-model-activate", "version", None, (401, 403, 403, 200)),
    ("get", "api-job-list", None, None, (401, 403, 403, 200)),
    ("post", "api-job-list", None, {"kind": "retrain"}, (401, 403, 403, 400)),
    ("get", "api-job-detail", "job", None, (401, 403, 403, 200)),
    ("delete", "api-job-detail", "job", None, (401, 403, 403, 405)),
    ("post", "api-job-cancel", "job", None, (401, 403, 403, 200)),
    ("get", "api-job-datasets", None, None, (401, 403, 403, 200)),
]


@pytest.fixture
def world(tiny_model_dir):
    alice, bob, staff = UserFactory(username="alice"), UserFactory(username="bob"), StaffFactory(username="admin")
    session = CaptureSessionFactory(user=alice)
    DetectionFactory.create_batch(3, session=session)
    CaptureSessionFactory(user=bob)
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    job = TrainingJobFactory()
    return {"alice": alice, "bob": bob, "staff": staff, "session": session, "version": version, "job": job}


def client_for(actor: str, world) -> APIClient:
    client = APIClient()
    if actor != "anonymous":
        client.force_authenticate(world[actor])
    return client


@pytest.mark.parametrize(("method", "name", "target", "body", "expected"), MATRIX,
                         ids=[f"{m.upper()} {n}" for m, n, *_ in MATRIX])
@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(world, actor, method, name, target, body, expected):
    url = reverse(name, args=[world[target].pk] if target else [])
    body_format = "multipart" if name == "api-predict" else "json" if body is not None else None
    response = getattr(client_for(actor, world), method)(url, body, format=body_format)
    assert response.status_code == expected[ACTORS.index(actor)], response.content[:300]
    if response.status_code == 401:
        assert response["WWW-Authenticate"].startswith("Token")


def test_lists_hold_only_the_users_own_sessions(world):
    for actor, count in (("alice", 1), ("bob", 1), ("staff", 0)):
        response = client_for(actor, world).get(reverse("api-session-list"))
        assert response.json()["count"] == count
        assert all(row["id"] != world["session"].pk for row in response.json()["results"]) or actor == "alice"


def test_stats_count_only_the_users_own_detections(world):
    DetectionFactory(session=CaptureSessionFactory(user=world["bob"]), emotion="sad")
    rows = client_for("bob", world).get(reverse("api-stats")).json()["results"]
    assert sum(row["detections"] for row in rows) == 1


def test_token_authentication(world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world["alice"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(reverse("api-session-list")).status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(reverse("api-session-list")).status_code == 401


def test_session_authentication_needs_csrf_for_writes(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world["alice"])
    assert client.get(reverse("api-session-list")).status_code == 200
    assert client.delete(reverse("api-session-detail", args=[world["session"].pk])).status_code == 403
