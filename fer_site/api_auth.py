"""`POST /api/auth/token/`: DRF's token view, described for the schema (no authentication needed)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from emotions.api.serializers import ErrorSerializer


class TokenView(ObtainAuthToken):
    @extend_schema(
        summary="Your API token, from your username and password",
        auth=[],
        request=AuthTokenSerializer,
        responses={200: OpenApiResponse(description='{"token": "..."}'),
                   400: OpenApiResponse(ErrorSerializer, description="wrong or missing credentials")},
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)
