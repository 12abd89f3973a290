"""The channel layer the settings build holds a quiet channel open longer than its blocking reads.

Regression: redis-py >= 8 gave up on reads after 5 s, the very time channels_redis blocks reading a
socket's channel, so every live socket over Redis was closed after ~5 s of silence on its channel.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError

from fer_site.channel_layers import ResilientRedisChannelLayer
from tests.services import require_redis

QUIET_SECONDS = 3 * settings.CHANNEL_LAYER_BLOCKING_READ_SECONDS  # several blocking reads in a row


@pytest.mark.slow
def test_a_quiet_channel_over_redis_waits_without_error():
    redis_url = require_redis()
    script = (
        "import asyncio, django, time\n"
        "django.setup()\n"
        "from channels.layers import get_channel_layer\n"
        "async def main():\n"
        "    layer = get_channel_layer()\n"
        "    channel = await layer.new_channel()\n"
        "    started = time.monotonic()\n"
        "    try:\n"
        f"        await asyncio.wait_for(layer.receive(channel), {QUIET_SECONDS})\n"
        "    except asyncio.TimeoutError:\n"
        "        print('quiet', round(time.monotonic() - started))\n"
        "    await layer.send(channel, {'type': 'hello'})\n"
        "    print((await layer.receive(channel))['type'])\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "fer_site.settings"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=QUIET_SECONDS + 60, cwd=settings.BASE_DIR)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["quiet", str(QUIET_SECONDS), "hello"]


def test_the_redis_read_timeout_must_exceed_the_blocking_reads():
    env = {**os.environ, "REDIS_SOCKET_TIMEOUT": str(settings.CHANNEL_LAYER_BLOCKING_READ_SECONDS),
           "DJANGO_SETTINGS_MODULE": "fer_site.settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=settings.BASE_DIR)
    assert result.returncode != 0
    assert "REDIS_SOCKET_TIMEOUT" in result.stderr


async def test_a_cancelled_read_ends_even_when_redis_py_turns_the_cancellation_into_an_error(monkeypatch):
    """Regression: a refused socket's consumer, cancelled at teardown, waited for Redis forever.

    redis-py can answer a cancellation with a connection error; the layer took it for an outage
    and probed a Redis that was not there, uncancellably.
    """
    read_started = asyncio.Event()

    async def read_that_turns_cancellation_into_an_error(self, channel):
        read_started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RedisConnectionError("Connection closed by server.") from None

    monkeypatch.setattr(RedisChannelLayer, "receive", read_that_turns_cancellation_into_an_error)
    layer = ResilientRedisChannelLayer(hosts=[{"address": "redis://127.0.0.1:1/0"}])  # nothing listens
    read = asyncio.create_task(layer.receive("specific.channel!one"))
    await asyncio.wait_for(read_started.wait(), 5)
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(read, 10)
    assert layer.available  # a cancellation is not an outage


async def test_a_read_that_fails_while_redis_is_away_waits_for_it(monkeypatch):
    async def failing_read(self, channel):
        raise RedisConnectionError("Connection refused.")

    monkeypatch.setattr(RedisChannelLayer, "receive", failing_read)
    layer = ResilientRedisChannelLayer(hosts=[{"address": "redis://127.0.0.1:1/0"}])
    read = asyncio.create_task(layer.receive("specific.channel!one"))
    await asyncio.sleep(0.5)
    assert not read.done()
    assert not layer.available
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(read, 10)


@pytest.mark.parametrize("cancel_after", [0.0005, 0.001, 0.002, 0.005, 0.02])
async def test_a_read_cancelled_as_it_starts_ends_at_once_over_redis(cancel_after):
    """Regression: cancelled within the first milliseconds (while its connection is set up), a read
    went on reading for good: redis-py retried it and channels_redis read again. A refused socket's
    consumer, whose read Channels cancels, then never ended; in CI it hung a test's teardown."""
    redis_url = require_redis()
    layer = ResilientRedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": 30}])
    read = asyncio.ensure_future(layer.receive(await layer.new_channel()))
    await asyncio.sleep(cancel_after)
    read.cancel()
    done, _ = await asyncio.wait({read}, timeout=3)
    assert done, "the cancelled read is still reading"
    assert read.cancelled()


async def test_a_read_cancelled_twice_still_stops_the_stock_read(monkeypatch):
    """A second cancel while the layer is stopping a stubborn read must not leave that read running."""
    stock_read_ended = asyncio.Event()

    async def read_that_swallows_two_cancellations(self, channel):
        swallowed = 0
        try:
            while True:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    swallowed += 1
                    if swallowed > 2:
                        raise
        finally:
            stock_read_ended.set()

    monkeypatch.setattr(RedisChannelLayer, "receive", read_that_swallows_two_cancellations)
    layer = ResilientRedisChannelLayer(hosts=[{"address": "redis://127.0.0.1:1/0"}])
    read = asyncio.create_task(layer.receive("specific.channel!one"))
    await asyncio.sleep(0.05)
    read.cancel()
    await asyncio.sleep(0.05)  # the layer is now cancelling the stock read, every 0.1 s
    read.cancel()
    done, _ = await asyncio.wait({read}, timeout=5)
    assert done and read.cancelled()
    assert stock_read_ended.is_set()
