"""API rate limits (DRF throttles) whose rates are read from `settings.API_THROTTLE_RATES` at each
request, so they follow the settings; counts live in the default cache (Redis when configured,
hence shared by all server processes). An exceeded limit answers 429 with Retry-After."""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class SettingsRate:
    scope: str

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        """Without the cache (Redis down) requests go through unthrottled, logged: the API must
        answer (e.g. that the task queue is down), not fail with 500."""
        try:
            return super().allow_request(request, view)
        except Exception as error:
            logger.warning("API rate limit not checked (cache unavailable): %s", error)
            return True


class AnonThrottle(SettingsRate, AnonRateThrottle):
    """Requests without a user, per client address (scope "anon")."""


class UserThrottle(SettingsRate, UserRateThrottle):
    """Requests of one signed-in user, all endpoints together (scope "user")."""


class PredictThrottle(SettingsRate, UserRateThrottle):
    """`POST /api/predict/` of one user (scope "predict"): each call runs the recognition model."""

    scope = "predict"
