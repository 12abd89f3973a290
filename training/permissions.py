"""The permissions that guard the registry and the jobs, named once for the admin and the API alike.

Like the admin, the API grants these only to active staff users who hold them (superusers hold all).
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

ACTIVATE_MODEL_VERSION = "training.activate_modelversion"  # custom: see ModelVersion.Meta.permissions
VIEW_JOBS = "training.view_trainingjob"
QUEUE_JOBS = "training.add_trainingjob"  # retrain and evaluate
CANCEL_JOBS = "training.change_trainingjob"


def staff_may(user: AbstractBaseUser | AnonymousUser, permission: str) -> bool:
    """What the admin checks: a staff user (the admin's door) holding `permission`."""
    return bool(user.is_active and user.is_staff and user.has_perm(permission))
