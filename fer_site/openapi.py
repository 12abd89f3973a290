"""OpenAPI post-processing: the error answers every operation may give, documented once for all."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
AUTHENTICATED = {
    "401": "not authenticated: no or an invalid token or session",
    "403": "authenticated but not allowed: a permission the operation needs, or the CSRF token of a session",
}
NOT_FOUND = {"404": "no such object (or not yours), or no such page"}
INVALID_QUERY = {"400": "an invalid query parameter; the answer names it"}
THROTTLED = {"429": "too many requests; the Retry-After header says after how many seconds to try again"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular hook: add 401/403 to authenticated operations, 404 to those on one object or
    a page, 400 to those with query parameters, and 429 to all, where the view did not describe them."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", ERROR_SCHEMA)
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
            if query:
                errors.update(INVALID_QUERY)
            responses = operation.setdefault("responses", {})
            for code, description in errors.items():
                responses.setdefault(code, _error(description))
    return result
