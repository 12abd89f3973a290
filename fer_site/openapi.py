"""OpenAPI post-processing: the error answers every operation may give, documented once for all."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
# DRF's answer to invalid input: messages per field (or "non_field_errors"), or one "detail".
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
}
AUTHENTICATED = {
    "401": "not authenticated: no or an invalid token or session",
    "403": "authenticated but not allowed: a permission the operation needs, or the CSRF token of a session",
}
NOT_FOUND = {"404": "no such object (or not yours), or no such page"}
INVALID_INPUT = "an invalid query parameter or body field; the answer names it"
THROTTLED = {"429": "too many requests; the Retry-After header says after how many seconds to try again"}


def _error(description: str, component: str = "Error") -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}}}


def document_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular hook: add 401/403 to authenticated operations, 404 to those on one object or
    a page, 400 to those with query parameters or a body, and 429 to all, where the view did not
    describe them."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("ValidationError", VALIDATION_ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            errors = dict(THROTTLED)
            if operation.get("security") and {} not in operation["security"]:
                errors.update(AUTHENTICATED)
            query = {param["name"] for param in operation.get("parameters", []) if param.get("in") == "query"}
            if "{" in path or "page" in query:  # one object, or a page past the last
                errors.update(NOT_FOUND)
            responses = operation.setdefault("responses", {})
            if query or "requestBody" in operation:
                responses.setdefault("400", _error(INVALID_INPUT, "ValidationError"))
            for code, description in errors.items():
                responses.setdefault(code, _error(description))
    return result
