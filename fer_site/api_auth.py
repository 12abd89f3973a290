"""`POST /api/auth/token/`: DRF's token view, under the log-in lock-out and the anonymous rate limit."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from emotions.api.serializers import ErrorSerializer
from fer_site.lockout import retry_after_seconds
from fer_site.throttles import AnonThrottle


class TokenView(ObtainAuthToken):
    throttle_classes = [AnonThrottle]

    @extend_schema(
        summary="Your API token, from your username and password",
        auth=[],
        request=AuthTokenSerializer,
        responses={200: OpenApiResponse(description='{"token": "..."}'),
                   429: OpenApiResponse(ErrorSerializer, description="too many failed log-ins or requests; "
                                                                     "see Retry-After")},
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError as error:
            # django-axes refused to check the password (locked out) and flagged the request.
            if getattr(request, "axes_locked_out", False):
                seconds = retry_after_seconds()
                raise Throttled(wait=seconds, detail="Too many failed log-ins.") from error
            raise
