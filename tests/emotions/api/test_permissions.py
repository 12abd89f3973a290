"""Every endpoint and verb for every role: anonymous, user A (the owner), user B, staff without
permissions, staff with the training permissions, a superuser, and a non-staff user holding them.

Nobody sees another user's sessions (404, not 403: their existence is not revealed); the registry
and the jobs answer as the admin does: to staff holding the Django permission the action needs
(403 otherwise); anonymous requests are asked to authenticate (401).
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
    grant,
)
from training.permissions import ACTIVATE_MODEL_VERSION, CANCEL_JOBS, QUEUE_JOBS, VIEW_JOBS

pytestmark = pytest.mark.django_db

TRAINING_PERMISSIONS = (ACTIVATE_MODEL_VERSION, VIEW_JOBS, QUEUE_JOBS, CANCEL_JOBS)
ACTORS = ("anonymous", "alice", "bob", "staff", "staff_perms", "superuser", "user_perms")


def owner_only(status: int) -> tuple[int, ...]:
    return (401, status, 404, 404, 404, 404, 404)


def any_user(status: int) -> tuple[int, ...]:
    return (401, *[status] * 6)


def permitted_staff(status: int) -> tuple[int, ...]:
    return (401, 403, 403, 403, status, status, 403)


# (method, url name, object the URL names, body, expected status per actor in ACTORS order)
MATRIX = [
    ("get", "api-session-list", None, None, any_user(200)),
    ("post", "api-session-list", None, {}, any_user(405)),
    ("get", "api-session-detail", "session", None, owner_only(200)),
    ("put", "api-session-detail", "session", {}, any_user(405)),
    ("patch", "api-session-detail", "session", {}, owner_only(200)),
    ("delete", "api-session-detail", "session", None, owner_only(204)),
    ("get", "api-session-detections", "session", None, owner_only(200)),
    ("post", "api-session-detections", "session", {}, any_user(405)),
    ("get", "api-session-summary", "session", None, owner_only(200)),
    ("get", "api-stats", None, None, any_user(200)),
    ("post", "api-stats", None, {}, any_user(405)),
    ("post", "api-predict", None, {}, any_user(400)),
    ("get", "api-predict", None, None, any_user(405)),
    ("get", "api-model-list", None, None, any_user(200)),
    ("post", "api-model-list", None, {}, any_user(405)),
    ("get", "api-model-detail", "version", None, any_user(200)),
    ("delete", "api-model-detail", "version", None, any_user(405)),
    ("post", "api-model-activate", "version", None, permitted_staff(200)),
    ("get", "api-model-activate", "version", None, any_user(405)),
    ("get", "api-job-list", None, None, permitted_staff(200)),
    ("post", "api-job-list", None, {"kind": "retrain"}, permitted_staff(400)),
    ("get", "api-job-detail", "job", None, permitted_staff(200)),
    ("delete", "api-job-detail", "job", None, permitted_staff(405)),
    ("post", "api-job-cancel", "job", None, permitted_staff(200)),
    ("get", "api-job-datasets", None, None, permitted_staff(200)),
]

# The endpoints guarded by a permission: (method, url name, object, body, the permission, status with it)
GUARDED = [
    ("post", "api-model-activate", "version", None, ACTIVATE_MODEL_VERSION, 200),
    ("get", "api-job-list", None, None, VIEW_JOBS, 200),
    ("get", "api-job-detail", "job", None, VIEW_JOBS, 200),
    ("get", "api-job-datasets", None, None, VIEW_JOBS, 200),
    ("post", "api-job-list", None, {"kind": "retrain"}, QUEUE_JOBS, 400),
    ("post", "api-job-cancel", "job", None, CANCEL_JOBS, 200),
]


@pytest.fixture
def world(tiny_model_dir):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    staff = UserFactory(username="staff", is_staff=True)
    staff_perms = grant(UserFactory(username="staff-perms", is_staff=True), *TRAINING_PERMISSIONS)
    superuser = StaffFactory(username="admin")
    user_perms = grant(UserFactory(username="user-perms"), *TRAINING_PERMISSIONS)
    session = CaptureSessionFactory(user=alice)
    DetectionFactory.create_batch(3, session=session)
    CaptureSessionFactory(user=bob)
    version = ModelVersionFactory(artifact_dir=str(tiny_model_dir))
    job = TrainingJobFactory()
    return {"alice": alice, "bob": bob, "staff": staff, "staff_perms": staff_perms, "superuser": superuser,
            "user_perms": user_perms, "session": session, "version": version, "job": job}


def client_for(actor: str, world) -> APIClient:
    client = APIClient()
    if actor != "anonymous":
        client.force_authenticate(world[actor])
    return client


def call(client: APIClient, method: str, name: str, target, body, world):
    url = reverse(name, args=[world[target].pk] if target else [])
    body_format = "multipart" if name == "api-predict" else "json" if body is not None else None
    return getattr(client, method)(url, body, format=body_format)


@pytest.mark.parametrize(("method", "name", "target", "body", "expected"), MATRIX,
                         ids=[f"{m.upper()} {n}" for m, n, *_ in MATRIX])
@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(world, actor, method, name, target, body, expected):
    response = call(client_for(actor, world), method, name, target, body, world)
    assert response.status_code == expected[ACTORS.index(actor)], response.content[:300]
    if response.status_code == 401:
        assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize(("method", "name", "target", "body", "permission", "allowed"), GUARDED,
                         ids=[f"{m.upper()} {n}" for m, n, *_ in GUARDED])
def test_each_guarded_endpoint_needs_its_own_permission(world, method, name, target, body, permission, allowed):
    others = grant(UserFactory(username="others", is_staff=True), *(set(TRAINING_PERMISSIONS) - {permission}))
    client = APIClient()
    client.force_authenticate(others)
    assert call(client, method, name, target, body, world).status_code == 403

    only = grant(UserFactory(username="only", is_staff=True), permission)
    client.force_authenticate(only)
    assert call(client, method, name, target, body, world).status_code == allowed


def test_lists_hold_only_the_users_own_sessions(world):
    for actor, count in (("alice", 1), ("bob", 1), ("staff", 0), ("superuser", 0)):
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
