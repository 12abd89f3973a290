"""Writes on a user's account: the API token, and deleting the user's data or the account itself."""

from __future__ import annotations

import logging

from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from emotions.data_services import delete_user_data

logger = logging.getLogger(__name__)


def regenerate_api_token(*, user: AbstractBaseUser) -> tuple[Token, bool]:
    """Replace the user's REST API token: the old one stops working at once. Returns the new token and
    whether there was an old one."""
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user), bool(deleted)


def delete_account(*, user: AbstractBaseUser, password: str, request: HttpRequest | None = None) -> bool:
    """Delete the user, every session, detection and video file of theirs, and their API token, if
    `password` is theirs; False (nothing deleted) if it is not.

    With the `request`, the password is checked by `authenticate`, so wrong guesses count towards
    the sign-in lockout (django-axes) like any other: a stolen session cannot guess it freely.
    """
    if request is not None:
        confirmed = authenticate(request, username=user.get_username(), password=password)
        if confirmed is None or confirmed.pk != user.pk:
            return False
    elif not user.check_password(password):
        return False
    user_id = user.pk
    with transaction.atomic():
        delete_user_data(user=user)  # video files too, which the database cascade would leave behind
        user.delete()
    logger.info("deleted user %s and all their data at their request", user_id)
    return True
