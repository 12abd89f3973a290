"""DRF permission: the Django permission a view names for each action, as the admin requires it."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request

from training.permissions import staff_may


class ActionPermission(IsAuthenticated):
    """Authenticated, and for the actions in the view's `action_permissions` (others: its
    `default_permission`, if any) a staff user holding that permission."""

    def has_permission(self, request: Request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        required = getattr(view, "action_permissions", {}).get(view.action, getattr(view, "default_permission", None))
        return required is None or staff_may(request.user, required)
