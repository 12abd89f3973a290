"""Hostile messages on the live socket: none ends the session; each is answered, and the socket goes on.

A fixed corpus (every class of message a hostile client may send) plus seeded random bytes: after
each hostile message a real frame is still answered with its face, and at the end the stored
detections are exactly the faces answered.
"""

from __future__ import annotations

import json
import random

import pytest
from asgiref.sync import sync_to_async

from emotions import consumers
from emotions.live_protocol import MAX_CONTROL_CHARS
from emotions.models import CaptureSession
from tests.emotions import hostile_images
from tests.emotions.test_consumer import TIMEOUT, detection_count, open_socket, receive, send_frame

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recognition_model")]

JPEG, PNG = b"\xff\xd8\xff", hostile_images.PNG_MAGIC


def hostile_texts() -> list[str]:
    return [
        "", " ", "null", "0", "[]", "{}", '"start"', "nan", "NaN", "Infinity", "-Infinity",
        "[" * 1100, "{\"a\":" * 1100, "[" * 1100 + "]" * 1100, '{"type": ' + "[" * 1000 + "]" * 1000 + "}",
        "{" * (MAX_CONTROL_CHARS + 1), "a" * (1024 * 1024), json.dumps({"type": "start", "pad": "x" * 5000}),
        '{"type": "start"', '{"type": start}', "{'type': 'start'}", '{"type": "stop",}',
        '{"type": 1}', '{"type": null}', '{"type": ["start"]}', '{"type": {"type": "start"}}', '{"type": true}',
        '{"type": "x"}', json.dumps({"type": "x" * 4000}), '{"type": "START"}', '{"type": "start\\u0000"}',
        '{"type": "\\ud800"}', '"\\ud800\\udfff"', "\0" * 100, "\ufeff{}",
        '{"type": "start", "width": 1e999, "height": -1e999}', '{"type": "start", "width": "640", "height": []}',
        '{"type": "start", "width": ' + "9" * 4000 + "}", '{"type": "start", "width": true, "height": false}',
        '{"type": "start", "width": 10001, "height": 0}', '{"type": "start", "__proto__": {}, "width": -0}',
        '{"type": "dropped"}', '{"type": "result", "frame": 0, "faces": []}', '{"type": "model.activated"}',
    ]


def hostile_frames(max_bytes: int) -> list[bytes]:
    rng = random.Random(14)
    randoms = [rng.randbytes(size) for size in (1, 2, 3, 17, 512, 65536)]
    return [
        b"", b"\0", JPEG, PNG, JPEG + b"\xff" * 100_000, PNG + b"\0" * 1000,
        *randoms, *(JPEG + data for data in randoms), *(PNG + data for data in randoms),
        b"\0" * (max_bytes + 1), JPEG + b"\0" * max_bytes,
        hostile_images.png_16bit_rgba(),
        hostile_images.png_claiming(2**32 - 1, 2**32 - 1), hostile_images.png_claiming(0, 0),
        hostile_images.png_claiming(1, 1, bit_depth=16, colour=6), hostile_images.png_claiming(100, 100, colour=99),
        hostile_images.jpeg_claiming(65535, 65535), hostile_images.jpeg_claiming(0, 480),
        hostile_images.jpeg_claiming(64, 64), b"\xff\xd8\xff\xc0\x00\x01", b"\xff\xd8\xff\xda\xff\xff",
    ]


async def test_no_hostile_message_ends_the_session(user, face_jpeg, settings):
    settings.LIVE_MAX_BAD_MESSAGES = 1  # each hostile message is followed by a good frame: never closed
    communicator, hello = await open_socket(user)
    hostile = [{"text": text} for text in hostile_texts()]
    hostile += [{"bytes": data} for data in hostile_frames(settings.MAX_FRAME_BYTES)]
    faces_answered = 0
    for message in hostile:
        await communicator.send_input({"type": "websocket.receive", **message})
        answer = await receive(communicator)
        assert answer["type"] in {"error", "session"}, (message, answer)  # "session": a harmless start
        assert answer["type"] == "session" or answer["error"]
        if answer["type"] == "session":
            assert answer["id"] == hello["id"]

        await send_frame(communicator, face_jpeg)
        result = await receive(communicator)
        assert result["type"] == "result" and len(result["faces"]) == 1, (str(message)[:80], result)
        faces_answered += len(result["faces"])
    await communicator.disconnect(timeout=TIMEOUT)

    assert faces_answered == len(hostile)
    assert await detection_count(hello["id"]) == faces_answered
    session = await sync_to_async(CaptureSession.objects.get)(pk=hello["id"])
    assert session.ended_at is not None


async def test_a_frame_of_too_many_pixels_is_refused_from_its_header(user, face_jpeg, settings):
    communicator, _ = await open_socket(user)
    await send_frame(communicator, hostile_images.png_16bit_rgba())
    error = await receive(communicator)
    assert error["type"] == "error"
    assert error["error"] == f"image is 4096x4096 pixels; the limit is {settings.MAX_FRAME_PIXELS:,} pixels"
    await communicator.disconnect(timeout=TIMEOUT)


async def test_a_failing_handler_is_answered_and_the_session_goes_on(user, face_jpeg, monkeypatch):
    """A bug anywhere under `receive` (here: writing client info) is an error answer, not a 1011 close."""
    from emotions import services

    def broken(**kwargs):
        raise RuntimeError("a bug")

    communicator, hello = await open_socket(user)
    monkeypatch.setattr(services, "update_client_info", broken)
    await communicator.send_json_to({"type": "start", "width": 640, "height": 480})
    assert await receive(communicator) == {"type": "error", "error": "the server could not handle this message"}
    await send_frame(communicator, face_jpeg)
    assert (await receive(communicator))["type"] == "result"
    await communicator.disconnect(timeout=TIMEOUT)
    assert await detection_count(hello["id"]) == 1


async def test_a_client_sending_only_bad_messages_is_closed_with_4400(user, face_jpeg, settings):
    settings.LIVE_MAX_BAD_MESSAGES = 3
    communicator, hello = await open_socket(user)
    for text in ("[", "{}", "[", "{}"):  # a good frame in between starts the count again
        await communicator.send_input({"type": "websocket.receive", "text": text})
        assert (await receive(communicator))["type"] == "error"
        if text == "{}":
            await send_frame(communicator, face_jpeg)
            assert (await receive(communicator))["type"] == "result"
    for _ in range(3):
        await send_frame(communicator, b"not an image")
        assert (await receive(communicator))["type"] == "error"
    await communicator.send_input({"type": "websocket.receive", "text": '{"type": "dance"}'})
    assert (await receive(communicator))["type"] == "error"
    closed = await communicator.receive_output(timeout=TIMEOUT)
    assert closed == {"type": "websocket.close", "code": consumers.TOO_MANY_BAD_MESSAGES}
    await communicator.disconnect(timeout=TIMEOUT)

    session = await sync_to_async(CaptureSession.objects.get)(pk=hello["id"])
    assert session.ended_at is not None  # the session was ended, nothing orphaned
    assert await detection_count(hello["id"]) == 2
