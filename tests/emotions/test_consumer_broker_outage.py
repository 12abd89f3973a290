"""Redis stops during a live session: frames keep being answered and stored, the user is told, and
model broadcasts reach the session again once Redis is back. Runs a Redis server of its own."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from emotions import consumers
from emotions.models import Detection
from tests.emotions.test_consumer import TIMEOUT, open_socket, receive, send_frame
from tests.services import service_unavailable

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recognition_model"), pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private Redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def private_redis(settings) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        service_unavailable("redis-server (Debian's package)")
    redis = PrivateRedis(free_port())
    redis.start()
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "fer_site.channel_layers.ResilientRedisChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{redis.port}/0", "socket_timeout": 30,
                              "socket_connect_timeout": 2}]},
    }}
    try:
        yield redis
    finally:
        redis.stop()


async def receive_until(communicator, kind: str) -> dict:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        message = await receive(communicator)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message")


async def test_a_redis_outage_is_survived_and_told_to_the_user(private_redis, user, face_jpeg, monkeypatch):
    monkeypatch.setattr(consumers, "FLUSH_INTERVAL", 0.2)
    communicator, hello = await open_socket(user)
    faces = 0
    await send_frame(communicator, face_jpeg)
    faces += len((await receive(communicator))["faces"])

    await sync_to_async(private_redis.stop)()
    await asyncio.sleep(1.5)  # past a failed read of the socket's channel
    notice = await receive_until(communicator, "notice")
    assert notice["level"] == "warning" and "broker is unavailable" in notice["notice"]
    for _ in range(3):  # recognition does not need Redis
        await send_frame(communicator, face_jpeg)
        faces += len((await receive_until(communicator, "result"))["faces"])

    await sync_to_async(private_redis.start)()
    back = await receive_until(communicator, "notice")
    assert back["level"] == "ok"
    caught_up = await receive_until(communicator, "model")  # a model activated meanwhile would be picked up here
    assert caught_up["label"] == consumers.active_model.current_model_dir().name
    await get_channel_layer().group_send(consumers.RECOGNITION_GROUP, {
        "type": "model.activated", "model_dir": str(consumers.active_model.current_model_dir()),
        "label": "after the outage",
    })
    assert await receive_until(communicator, "model") == {"type": "model", "label": "after the outage"}
    await send_frame(communicator, face_jpeg)
    faces += len((await receive_until(communicator, "result"))["faces"])
    await communicator.disconnect(timeout=TIMEOUT)

    stored = await sync_to_async(Detection.objects.filter(session_id=hello["id"]).count)()
    assert stored == faces == 5
