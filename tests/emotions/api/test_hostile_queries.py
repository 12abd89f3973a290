"""Every filter of every list endpoint, and every id in a URL, given hostile values: a 200 or a
400 that names the parameter, never a server error (values are validated before the database)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import CaptureSessionFactory, DetectionFactory, StaffFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    "2026-01-01T00:00:00+22:52", "2026-01-01T00:00:00-16:00", "2026-01-01T00:00:00+15:59",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01", "9999-12-31", "2026-13-45",
    "not-a-value", "", " ", "\x00", "a\x00b", "1e100", "-1e100", "NaN", "Infinity", "-1", "9" * 400,
    "true", "maybe", "' OR 1=1 --", "%", "\u202e", "x" * 5000,
]
ENDPOINTS = [  # (url name, needs the session's id, its query parameters)
    ("api-session-list", False, ["started_after", "started_before", "ended", "model_label", "model_version", "page"]),
    ("api-session-detections", True, ["emotion", "offset_ms_min", "offset_ms_max", "page"]),
    ("api-stats", False, ["date_from", "date_to", "session", "page"]),
    ("api-model-list", False, ["architecture", "is_active", "page"]),
    ("api-job-list", False, ["kind", "state", "page"]),
]


@pytest.fixture
def staff_client():
    staff = StaffFactory(username="admin")
    session = CaptureSessionFactory(user=staff)
    DetectionFactory.create_batch(2, session=session)
    client = APIClient()
    client.force_authenticate(staff)
    client.session_id = session.pk
    return client


@pytest.mark.parametrize(("name", "with_session", "parameters"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_hostile_filter_values_are_answered_200_or_400_naming_the_parameter(staff_client, name, with_session,
                                                                           parameters):
    url = reverse(name, args=[staff_client.session_id] if with_session else [])
    for parameter in parameters:
        for value in HOSTILE:
            response = staff_client.get(url, {parameter: value})
            assert response.status_code in {200, 400, 404}, (parameter, value, response.status_code)
            if response.status_code == 400:
                assert parameter in response.json(), (parameter, value, response.json())
            if response.status_code == 404:  # only an impossible page number
                assert parameter == "page", (parameter, value)


@pytest.mark.parametrize("offset", ["+22:52", "-16:00", "+23:59"])
@pytest.mark.parametrize("parameter", ["started_before", "started_after"])
def test_an_offset_beyond_15_59_is_a_400_naming_the_field(staff_client, parameter, offset):
    response = staff_client.get(reverse("api-session-list"), {parameter: f"2026-01-01T00:00:00{offset}"})
    assert response.status_code == 400
    assert "UTC offset" in response.json()[parameter][0]


def test_offsets_within_range_select_by_the_instant(staff_client):
    session = CaptureSessionFactory(started_at="2026-01-01T12:00:00Z")
    url = reverse("api-session-list")
    ids = lambda **query: [row["id"] for row in staff_client.get(url, query).json()["results"]]  # noqa: E731
    assert session.pk not in ids(started_after="2026-01-01T12:00:01+00:00")
    assert session.pk not in ids(started_before="2026-01-02T03:59:59+15:59")  # 11:59:59 UTC
    session.user = StaffFactory(username="admin")
    session.save()
    assert session.pk in ids(started_before="2026-01-02T04:00:00+15:59", started_after="2026-01-01T00:00:00-11:00")


@pytest.mark.parametrize("name", ["api-session-detail", "api-session-detections", "api-session-summary",
                                  "api-model-detail", "api-job-detail"])
def test_ids_beyond_any_integer_column_are_404(staff_client, name):
    response = staff_client.get(reverse(name, args=[10**30]))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
