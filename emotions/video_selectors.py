"""Reads for video analyses: a user's own, newest first."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from emotions.models import VideoAnalysis


def user_videos(*, user: AbstractBaseUser) -> QuerySet[VideoAnalysis]:
    return VideoAnalysis.objects.filter(session__user=user).select_related("session").order_by("-created_at", "-pk")


def user_video(*, user: AbstractBaseUser, session_id: int) -> VideoAnalysis | None:
    """The analysis of one of the user's video sessions, or None: no one sees another's."""
    return user_videos(user=user).filter(session_id=session_id).first()
