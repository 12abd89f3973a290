"""The live WebSocket: JPEG frames in, faces with emotions out (protocol in `LiveConsumer`)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from emotions import services, socket_slots
from emotions.live_protocol import BadMessageCounter, ProtocolError, parse_control
from emotions.recognition import InvalidImageError, StreamTracker

logger = logging.getLogger(__name__)

# Recognition is CPU-bound: one thread per core, shared by all connections of the process.
EXECUTOR = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="recognition")
MAX_IN_FLIGHT = 2  # frames of one connection being processed or waiting; more are dropped
FLUSH_INTERVAL = 1.0  # seconds between writes of buffered detections
CLOSE_TIMEOUT = 10.0  # seconds to let frames in flight finish at disconnect or stop
RECOGNITION_GROUP = "recognition"
MODEL_UNAVAILABLE = 4503  # close code: the server cannot classify (no model)
TOO_MANY_BAD_MESSAGES = 4400  # close code: more than LIVE_MAX_BAD_MESSAGES refused messages in a row
TOO_MANY_SOCKETS = 4429  # close code: the user already has MAX_LIVE_SOCKETS_PER_USER live sockets open


class LiveConsumer(AsyncWebsocketConsumer):
    """One browser tab streaming its camera.

    Client → server: binary messages are JPEG/PNG frames; text messages are JSON control
    messages `{"type": "start", "width": w, "height": h}` and `{"type": "stop"}`.
    Server → client (JSON): `session` (a session started), `result` (faces of frame N),
    `dropped` (frame N was not processed: too many in flight), `error`, `stopped`, `model`.
    A session starts with the connection and ends at disconnect or `stop`.
    No message ends the connection with an error: each refused one is answered `error`; a client
    that sends nothing but refused messages is closed with `TOO_MANY_BAD_MESSAGES`, and a socket
    beyond the user's `MAX_LIVE_SOCKETS_PER_USER` with `TOO_MANY_SOCKETS`.
    """

    user: Any = None
    stream: StreamTracker | None = None  # set once the connection is accepted and the model loaded
    recorder: services.SessionRecorder | None = None  # the running session, if any
    socket_slot: int | None = None  # the user's live-socket slot this connection holds

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.user = user
        self.in_flight = 0
        self.tasks: set[asyncio.Task] = set()
        self.frame_lock = asyncio.Lock()  # a stream handles its frames one after the other
        self.flush_lock = asyncio.Lock()
        self.flusher: asyncio.Task | None = None
        self.bad_messages = BadMessageCounter(settings.LIVE_MAX_BAD_MESSAGES)
        await self.accept()
        if not await self.take_socket_slot():
            return
        try:
            # Loading the model may read the model registry: a database call, closed after it.
            self.stream = await database_sync_to_async(services.open_stream, thread_sensitive=False)()
        except (OSError, ValueError) as error:
            logger.error("live session refused: recognition model unavailable: %s", error)
            await self.send_json({"type": "error", "error": "the recognition model is not available on the server"})
            await self.close(code=MODEL_UNAVAILABLE)
            return
        await self.channel_layer.group_add(RECOGNITION_GROUP, self.channel_name)
        await self.start_session({})
        self.flusher = asyncio.create_task(self.flush_periodically())

    async def disconnect(self, code: int) -> None:
        await self.release_socket_slot()
        if self.stream is None:  # refused, or closed before the model was ready: nothing to end
            return
        if self.flusher is not None:
            self.flusher.cancel()
        await self.channel_layer.group_discard(RECOGNITION_GROUP, self.channel_name)
        await self.end_session(notify=False)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.stream is None:  # refused at connect; the close is on its way
            return
        try:
            if bytes_data is not None:
                await self.receive_frame(bytes_data)
            else:
                await self.receive_control(text_data or "")
        except Exception:  # whatever a message does, the session goes on (no close with 1011)
            logger.exception("a message of user %s on a live socket failed", self.user.pk)
            await self.refuse({"type": "error", "error": "the server could not handle this message"})

    async def refuse(self, reply: dict[str, Any]) -> None:
        """Answer a refused message; close the socket once the client sends nothing else."""
        await self.send_json(reply)
        if self.bad_messages.refused():
            logger.warning("closing the live socket of user %s: too many refused messages", self.user.pk)
            await self.close(code=TOO_MANY_BAD_MESSAGES)

    async def take_socket_slot(self) -> bool:
        """Hold one of the user's live-socket slots, or refuse the socket (an error, then TOO_MANY_SOCKETS)."""
        acquire = sync_to_async(socket_slots.acquire, thread_sensitive=False)
        self.socket_slot = await acquire(self.user.pk, self.channel_name)
        if self.socket_slot is None:
            await self.send_json({"type": "error", "error": f"too many live sessions open: at most "
                                  f"{socket_slots.limit()} at once; close another tab first"})
            await self.close(code=TOO_MANY_SOCKETS)
            return False
        self.slot_keeper = asyncio.create_task(socket_slots.keep(self.user.pk, self.socket_slot, self.channel_name))
        return True

    async def release_socket_slot(self) -> None:
        if self.socket_slot is not None:
            self.slot_keeper.cancel()
            release = sync_to_async(socket_slots.release, thread_sensitive=False)
            await release(self.user.pk, self.socket_slot, self.channel_name)
            self.socket_slot = None

    # --- frames ------------------------------------------------------------------------------

    async def receive_frame(self, data: bytes) -> None:
        recorder = self.recorder
        if recorder is None:
            await self.refuse({"type": "error", "error": 'no session is running: send {"type": "start"} first'})
            return
        frame_index, offset_ms = recorder.receive_frame()
        if self.in_flight >= MAX_IN_FLIGHT:
            recorder.drop_frame()
            await self.send_json({"type": "dropped", "frame": frame_index})
            return
        self.in_flight += 1
        task = asyncio.create_task(self.process_frame(recorder, frame_index, offset_ms, data))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def process_frame(
        self, recorder: services.SessionRecorder, frame_index: int, offset_ms: int, data: bytes
    ) -> None:
        try:
            async with self.frame_lock:
                faces, ms = await asyncio.get_running_loop().run_in_executor(
                    EXECUTOR, services.analyse_frame, self.stream, data
                )
        except InvalidImageError as error:
            reply = {"type": "error", "frame": frame_index, "error": str(error)}
        except Exception:
            logger.exception("frame %s of session %s failed", frame_index, recorder.session.pk)
            reply = {"type": "error", "frame": frame_index, "error": "the server could not process this frame"}
        else:
            recorder.add_result(frame_index, offset_ms, faces)
            reply = {"type": "result", "frame": frame_index, "faces": faces, "ms": round(ms, 1)}
        finally:
            self.in_flight -= 1
        if reply["type"] == "error":
            await self.refuse(reply)
        else:
            self.bad_messages.accepted()
            await self.send_json(reply)

    # --- control messages ------------------------------------------------------------------

    async def receive_control(self, text: str) -> None:
        try:
            message = parse_control(text)
        except ProtocolError as error:
            await self.refuse({"type": "error", "error": str(error)})
            return
        kind = message["type"]
        if kind == "start":
            self.bad_messages.accepted()
            await self.start_session(message)
        elif kind == "stop" and self.recorder is not None:
            self.bad_messages.accepted()
            await self.end_session(notify=True)
        elif kind == "stop":
            await self.refuse({"type": "error", "error": "no session is running"})
        else:
            await self.refuse({"type": "error", "error": f"unknown message type {kind[:40]!r}"})

    async def start_session(self, message: dict[str, Any]) -> None:
        """Start a session (or, if one is running, add the client info of `message` to it)."""
        info = services.client_info(headers=self.scope.get("headers", []), message=message)
        if self.recorder is None:
            session = await database_sync_to_async(services.start_session)(user=self.user, client_info=info)
            self.stream.reset()
            self.recorder = services.SessionRecorder(session)
        else:
            await database_sync_to_async(services.update_client_info)(session=self.recorder.session, info=info)
        session = self.recorder.session
        await self.send_json({
            "type": "session", "id": session.pk, "model": session.model_version,
            "started": session.started_at.isoformat(),
        })

    async def end_session(self, *, notify: bool) -> None:
        """Let the frames in flight finish, write everything, and mark the session ended."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=CLOSE_TIMEOUT)
        try:
            await self.flush(recorder)
        finally:
            session = await database_sync_to_async(services.end_session)(session=recorder.session)
        if notify:
            await self.send_json({
                "type": "stopped", "id": session.pk, "frames": recorder.received,
                "processed": recorder.processed, "dropped": recorder.dropped, "faces": recorder.faces,
            })

    async def flush(self, recorder: services.SessionRecorder | None = None) -> None:
        recorder = recorder or self.recorder
        async with self.flush_lock:
            batch = recorder.take_batch() if recorder is not None else None
            if batch is not None:
                try:
                    await database_sync_to_async(services.save_batch)(batch)
                except Exception:
                    recorder.put_back(batch)
                    raise

    async def flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await self.flush()
            except Exception:
                logger.exception("writing the detections of a live session failed")

    # --- channel-layer events -----------------------------------------------------------------

    async def model_activated(self, event: dict[str, Any]) -> None:
        """An admin activated another model: classify the next frames with it."""
        try:
            activate = partial(services.activate_model, model_dir=event["model_dir"])
            await asyncio.get_running_loop().run_in_executor(EXECUTOR, activate)
        except Exception:  # a bad event or model must not end the socket: keep the model in use
            logger.exception("could not switch to the model of %r", event)
            return
        label = event.get("label") or await database_sync_to_async(services.current_model_label)()
        await self.send_json({"type": "model", "label": label})

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content))
