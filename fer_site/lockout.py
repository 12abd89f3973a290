"""The answer to a locked-out log-in (django-axes calls `lockout_response`): 429 with Retry-After."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from fer_site.errors import API_PREFIX


def retry_after_seconds() -> int:
    from axes.helpers import get_cool_off

    cool_off = get_cool_off()
    return max(1, int(cool_off.total_seconds())) if cool_off else 0


def lockout_detail(seconds: int) -> str:
    return f"Too many failed log-ins: try again in {seconds} seconds."


def lockout_response(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """JSON under the API prefix, the log-in page's lock-out notice elsewhere."""
    seconds = retry_after_seconds()
    detail = lockout_detail(seconds)
    if request.path.startswith("/" + API_PREFIX):
        response: HttpResponse = JsonResponse({"detail": detail}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"detail": detail}, status=429)
    response["Retry-After"] = str(seconds)
    return response
