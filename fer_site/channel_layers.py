"""The Redis channel layer, made to wait out a Redis outage instead of ending every live socket.

Channels reads each consumer's channel in a loop beside its socket; a read that raises ends the
consumer, so with the stock layer a Redis restart closed every live socket with 1011. Here a failed
read waits until Redis answers again and then goes on; `available` says whether it answers, so that
consumers can tell their users (frames do not need Redis, only model activation broadcasts do).
"""

from __future__ import annotations

import asyncio
import logging

from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PROBE_INTERVAL = 1.0  # seconds between pings while Redis is away
PROBE_TIMEOUT = 2.0  # seconds a ping may take before Redis counts as away


class ResilientRedisChannelLayer(RedisChannelLayer):
    available: bool = True

    async def receive(self, channel: str) -> dict:
        while True:
            try:
                return await super().receive(channel)
            except (RedisError, OSError) as error:
                # redis-py may turn a cancellation into a connection or timeout error: a read that
                # was cancelled ends here, or the consumer would wait for Redis forever, uncancellable.
                if being_cancelled():
                    raise asyncio.CancelledError from error
                # Only an error while Redis does not answer is an outage to wait out.
                if await self.redis_answers():
                    raise
                if self.available:
                    logger.error("the channel layer lost Redis (%s); waiting for it to come back", error)
                self.available = False
                await self.wait_for_redis()

    async def redis_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.connection(0).ping(), PROBE_TIMEOUT)
        except (RedisError, OSError):  # asyncio's TimeoutError is an OSError
            if being_cancelled():
                raise asyncio.CancelledError from None
            return False
        return True

    async def wait_for_redis(self) -> None:
        """Return once Redis answers a ping (on the first shard, the one group broadcasts use)."""
        while not await self.redis_answers():
            await asyncio.sleep(PROBE_INTERVAL)
        logger.warning("the channel layer reaches Redis again")
        self.available = True


def being_cancelled() -> bool:
    """Whether the running task has been asked to stop (the request outlives a swallowed CancelledError)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
