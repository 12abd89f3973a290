"""Error pages: under the API prefix an unknown URL answers JSON, as the API's own errors do."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found

API_PREFIX = "api/"  # where fer_site.urls mounts the REST API


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404` (used with DEBUG off): JSON under /api/, the HTML page elsewhere."""
    if request.path.startswith("/" + API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
