"""At most MAX_LIVE_SOCKETS_PER_USER live sockets per user, counted in the shared cache."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from emotions import consumers, socket_slots
from emotions.models import CaptureSession
from emotions.routing import websocket_urlpatterns
from tests.emotions.test_consumer import TIMEOUT, open_socket, receive

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recognition_model")]


async def refused_socket(user) -> dict:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/live/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected  # accepted, to say why it is closed
    error = await receive(communicator)
    closed = await communicator.receive_output(timeout=TIMEOUT)
    await communicator.disconnect(timeout=TIMEOUT)
    return {"error": error, "closed": closed}


async def test_a_socket_beyond_the_cap_gets_an_error_and_4429(user, other_user, settings):
    settings.MAX_LIVE_SOCKETS_PER_USER = 2
    first, _ = await open_socket(user)
    second, _ = await open_socket(user)
    refused = await refused_socket(user)
    assert refused["error"]["type"] == "error" and "at most 2" in refused["error"]["error"]
    assert refused["closed"] == {"type": "websocket.close", "code": consumers.TOO_MANY_SOCKETS}
    assert await sync_to_async(CaptureSession.objects.filter(user=user).count)() == 2  # no session for it

    other, _ = await open_socket(other_user)  # the cap is per user
    await first.disconnect(timeout=TIMEOUT)
    again, _ = await open_socket(user)  # a closed socket frees its slot
    for communicator in (second, other, again):
        await communicator.disconnect(timeout=TIMEOUT)


async def test_slots_held_elsewhere_count(user, settings):
    """Another server process's sockets hold slots in the same cache (Redis when configured)."""
    settings.MAX_LIVE_SOCKETS_PER_USER = 2
    held = await sync_to_async(socket_slots.acquire)(user.pk, "another-process!channel")
    assert held == 0
    only, _ = await open_socket(user)
    assert (await refused_socket(user))["closed"]["code"] == consumers.TOO_MANY_SOCKETS
    await only.disconnect(timeout=TIMEOUT)
    await sync_to_async(socket_slots.release)(user.pk, held, "someone-else")  # not its holder: kept
    assert await sync_to_async(socket_slots.acquire)(user.pk, "x") == 1
