"""The OpenAPI 3 schema validates and documents every endpoint; Swagger UI loads nothing from a CDN."""

import re

import pytest
from django.urls import reverse
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/auth/token/": {"post"},
    "/api/sessions/": {"get"},
    "/api/sessions/{id}/": {"get", "patch", "delete"},
    "/api/sessions/{session_id}/detections/": {"get"},
    "/api/sessions/{session_id}/summary/": {"get"},
    "/api/stats/": {"get"},
    "/api/predict/": {"post"},
    "/api/videos/": {"get", "post"},
    "/api/videos/{session_id}/": {"get"},
    "/api/models/": {"get"},
    "/api/models/{id}/": {"get"},
    "/api/models/{id}/activate/": {"post"},
    "/api/jobs/": {"get", "post"},
    "/api/jobs/{id}/": {"get"},
    "/api/jobs/{id}/cancel/": {"post"},
    "/api/jobs/datasets/": {"get"},
}


@pytest.fixture
def schema(client) -> dict:
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_every_endpoint_and_verb_is_described(schema):
    assert {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()} == PATHS
    for path, operations in schema["paths"].items():
        for verb, operation in operations.items():
            assert operation.get("summary") or path == "/api/auth/token/", f"{verb} {path} has no summary"
            assert operation["responses"], f"{verb} {path} has no responses"


def test_predict_is_described_with_its_bodies_and_errors(schema):
    predict = schema["paths"]["/api/predict/"]["post"]
    assert set(predict["requestBody"]["content"]) == {"multipart/form-data", "image/jpeg", "image/png"}
    assert {"200", "400", "413", "415"} <= set(predict["responses"])
    face = schema["components"]["schemas"]["Face"]["properties"]
    assert {"box", "emotion", "scores"} <= set(face)


def test_filters_and_pagination_are_described(schema):
    parameters = {p["name"] for p in schema["paths"]["/api/sessions/{session_id}/detections/"]["get"]["parameters"]}
    assert {"emotion", "offset_ms_min", "offset_ms_max", "page"} <= parameters
    listed = schema["paths"]["/api/stats/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["$ref"].endswith("PaginatedDailyEmotionMixList")


def test_token_and_session_authentication_are_declared(schema):
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_swagger_ui_is_served_locally(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui" in source for source in sources)
    assert all(not source.startswith(("http:", "https:", "//")) for source in sources), sources
    assert "cdn" not in html.lower()


def test_every_operation_documents_its_error_answers(schema):
    for path, operations in schema["paths"].items():
        for verb, operation in operations.items():
            if verb == "parameters":
                continue
            codes = set(operation["responses"])
            assert "429" in codes, f"{verb} {path}"
            if path != "/api/auth/token/":
                assert {"401", "403"} <= codes, f"{verb} {path}"
            if "{" in path:
                assert "404" in codes, f"{verb} {path}"
            error = operation["responses"]["429"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
    assert schema["paths"]["/api/auth/token/"]["post"].get("security") in (None, [], [{}])
