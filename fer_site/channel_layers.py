"""The Redis channel layer, made to wait out a Redis outage instead of ending every live socket.

Channels reads each consumer's channel in a loop beside its socket; a read that raises ends the
consumer, so with the stock layer a Redis restart closed every live socket with 1011. Here a failed
read waits until Redis answers again and then goes on; `available` says whether it answers, so that
consumers can tell their users (frames do not need Redis, only model activation broadcasts do).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PROBE_INTERVAL = 1.0  # seconds between pings while Redis is away
PROBE_TIMEOUT = 2.0  # seconds a ping may take before Redis counts as away
CANCEL_RETRY_INTERVAL = 0.1  # seconds between cancels of a read that goes on after one
STUBBORN_READ_SECONDS = 10.0  # a read still going after this long, cancelled, is logged (then again)


class ResilientRedisChannelLayer(RedisChannelLayer):
    available: bool = True

    async def receive(self, channel: str) -> dict:
        while True:
            try:
                return await self._read_until_cancelled(channel)
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

    async def _read_until_cancelled(self, channel: str) -> dict:
        """The stock read, stopped for good when this read is cancelled.

        redis-py retries a blocking read that a cancellation interrupted, and channels_redis reads
        again after an empty one, so a single cancel can be swallowed: the consumer of a refused
        socket then kept reading after it ended. Cancelled, the read is cancelled until it stops
        (a message it takes meanwhile was for a consumer that is ending, as with the stock layer).
        """
        read = asyncio.ensure_future(super().receive(channel))
        try:
            return await asyncio.shield(read)
        except asyncio.CancelledError:
            started = time.monotonic()
            while not read.done():
                read.cancel()
                # Cancelled again while the read is being stopped: the raise below answers both.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({read}, timeout=CANCEL_RETRY_INTERVAL)
                if not read.done() and time.monotonic() - started > STUBBORN_READ_SECONDS:
                    logger.warning("a cancelled channel read on %s has not stopped after %.0f s; still cancelling it",
                                   channel, STUBBORN_READ_SECONDS)
                    started = time.monotonic()
            raise

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
