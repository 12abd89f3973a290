"""API rate limits (DRF throttles) whose rates are read from `settings.API_THROTTLE_RATES` at each
request, so they follow the settings; counts live in the default cache (Redis when configured,
hence shared by all server processes). An exceeded limit answers 429 with Retry-After."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class SettingsRate:
    scope: str

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)


class AnonThrottle(SettingsRate, AnonRateThrottle):
    """Requests without a user, per client address (scope "anon")."""


class UserThrottle(SettingsRate, UserRateThrottle):
    """Requests of one signed-in user, all endpoints together (scope "user")."""


class PredictThrottle(SettingsRate, UserRateThrottle):
    """`POST /api/predict/` of one user (scope "predict"): each call runs the recognition model."""

    scope = "predict"
