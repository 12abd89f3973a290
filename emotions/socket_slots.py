"""At most `settings.MAX_LIVE_SOCKETS_PER_USER` live sockets per user at once.

Each open socket holds one numbered slot, a cache key taken atomically with `cache.add`; the
default cache is Redis when configured, so every server process sees the same slots. A holder
refreshes its slot while the socket lives; a process that dies without releasing frees its slots
when they expire, SLOT_SECONDS later.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

SLOT_SECONDS = 90


def _key(user_id: int, index: int) -> str:
    return f"live-socket-slot:{user_id}:{index}"


def limit() -> int:
    return settings.MAX_LIVE_SOCKETS_PER_USER


def acquire(user_id: int, holder: str) -> int | None:
    """The index of the slot now held by `holder`, or None when the user holds all of them."""
    for index in range(limit()):
        if cache.add(_key(user_id, index), holder, timeout=SLOT_SECONDS):
            return index
    return None


def release(user_id: int, index: int, holder: str) -> None:
    key = _key(user_id, index)
    if cache.get(key) == holder:
        cache.delete(key)


async def keep(user_id: int, index: int, holder: str) -> None:
    """Refresh the slot until cancelled (run it as a task for the socket's life)."""
    refresh = sync_to_async(cache.touch, thread_sensitive=False)
    while True:
        await asyncio.sleep(SLOT_SECONDS / 3)
        try:
            if not await refresh(_key(user_id, index), SLOT_SECONDS):  # expired meanwhile: take it again
                await sync_to_async(cache.add, thread_sensitive=False)(_key(user_id, index), holder, SLOT_SECONDS)
        except Exception as error:  # the cache (Redis) is down: the socket goes on, the slot may lapse
            logger.warning("could not refresh a live-socket slot: %s", error)
