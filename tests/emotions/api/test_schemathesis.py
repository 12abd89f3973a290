"""Property-based tests of the whole API against its own OpenAPI schema (schemathesis), as an
anonymous client, a user and a staff member, with valid and invalid requests: no server error, and
every answer (status code, content type, body) is one the schema documents. Bounded: a few dozen
examples per operation.

Hypothesis drives each operation directly (schemathesis' pytest plugin does not run on pytest 9).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fer_site.wsgi import application
from tests.factories import CaptureSessionFactory, DetectionFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 20  # x 20 operations x 3 roles: ~35 s of the suite; hostile inputs have tests of their own
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def connection_kept_open():
    """The WSGI handler closes the database connection after each request, the test's transaction
    with it; keep it open, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def headers_of(role: str) -> dict[str, str]:
    """The role's Authorization header; each person has a session with detections for examples to meet."""
    if role == "anonymous":
        return {}
    person = UserFactory(username="alice") if role == "user" else StaffFactory(username="admin")
    DetectionFactory.create_batch(2, session=CaptureSessionFactory(user=person))
    return {"Authorization": f"Token {Token.objects.create(user=person).key}"}


def failures_of(operation, headers: dict[str, str]) -> list[str]:
    """Run the operation's examples; its (shrunk) failure, as text, or nothing when all conform."""

    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except (AssertionError, FailureGroup) as failure:  # report every operation's, not only the first
        return [f"{operation.label}: {str(failure)[:1500]}"]
    return []


@pytest.mark.parametrize("role", ["anonymous", "user", "staff"])
def test_the_api_answers_as_its_schema_says(role, settings, tiny_model_dir, connection_kept_open):
    settings.EMOTION_MODEL_DIR = tiny_model_dir
    settings.API_THROTTLE_RATES = {scope: None for scope in settings.API_THROTTLE_RATES}  # examples, not limits
    headers = headers_of(role)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 20  # every operation of the API, video uploads and PATCH of a session included
    failures = [failure for operation in operations for failure in failures_of(operation, headers)]
    assert not failures, "\n\n".join(failures)
