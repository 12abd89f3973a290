"""The live WebSocket: JPEG frames in, faces with emotions out (protocol in `LiveConsumer`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from emotions import active_model, selectors, services, socket_slots
from emotions.live_protocol import BadMessageCounter, ProtocolError, parse_control
from emotions.live_writer import batch_writer, detach, retry_until
from emotions.models import EndReason
from emotions.recognition import InvalidImageError, StreamTracker

logger = logging.getLogger(__name__)

# Recognition is CPU-bound: one thread per core, shared by all connections of the process.
EXECUTOR = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="recognition")
MAX_IN_FLIGHT = 2  # frames of one connection being processed or waiting; more are dropped
FLUSH_INTERVAL = 1.0  # seconds between retries of a failed write, and between checks of the connection
CLOSE_TIMEOUT = 10.0  # seconds to let frames in flight finish at disconnect or stop
RECOGNITION_GROUP = "recognition"
MODEL_UNAVAILABLE = 4503  # close code: the server cannot classify (no model)
SESSION_TAKEN_OVER = 4409  # close code: another connection resumed this session, or it was ended meanwhile
TOO_MANY_BAD_MESSAGES = 4400  # close code: more than LIVE_MAX_BAD_MESSAGES refused messages in a row
TOO_MANY_SOCKETS = 4429  # close code: the user already has MAX_LIVE_SOCKETS_PER_USER live sockets open
SESSION_UNAVAILABLE = 4502  # close code: the session could not be opened (database down); reconnect later


class LiveConsumer(AsyncWebsocketConsumer):
    """One browser tab streaming its camera.

    Connect to `/ws/live/`, or `/ws/live/?resume=<session id>` to continue a session whose
    connection dropped (if it may be resumed; else a new session starts).
    Client → server: binary messages are JPEG/PNG frames; text messages are JSON control
    messages `{"type": "start", "width": w, "height": h}` and `{"type": "stop"}`.
    Server → client (JSON): `session` (a session started or resumed), `result` (faces of frame N,
    numbered per connection), `dropped` (frame N was not processed: too many in flight),
    `error`, `notice` (a degraded service, e.g. the message broker is down), `stopped`, `model`.
    A frame's faces are written before its answer is sent; a write that fails is kept and retried
    (the answer goes out all the same) and, if it never succeeds, counted on the session as lost.
    No message ends the connection with an error: each refused one is answered `error`; a client
    that sends nothing but refused messages is closed with `TOO_MANY_BAD_MESSAGES`, and a socket
    beyond the user's `MAX_LIVE_SOCKETS_PER_USER` with `TOO_MANY_SOCKETS`.
    """

    user: Any = None
    stream: StreamTracker | None = None  # set once the connection is accepted and the model loaded
    recorder: services.SessionRecorder | None = None  # the running session, if any
    socket_slot: int | None = None  # the user's live-socket slot this connection holds
    slot_keeper: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.user = user
        self.connection_id = uuid.uuid4().hex
        self.in_flight = 0
        self.tasks: set[asyncio.Task] = set()
        self.frame_lock = asyncio.Lock()  # a stream handles its frames one after the other
        self.flush_lock = asyncio.Lock()
        self.watcher: asyncio.Task | None = None
        self.closing = asyncio.Event()  # set at disconnect: the watcher finishes its write and stops
        self.in_group = False
        self.bad_messages = BadMessageCounter(settings.LIVE_MAX_BAD_MESSAGES)
        await self.accept()
        if not await self.take_socket_slot():
            return
        try:
            # Loading the model may read the model registry: a database call, closed after it.
            self.stream = await database_sync_to_async(active_model.open_live_stream, thread_sensitive=False)()
        except (OSError, ValueError) as error:
            logger.error("live session refused: recognition model unavailable: %s", error)
            await self.send_json({"type": "error", "error": "the recognition model is not available on the server"})
            await self.close(code=MODEL_UNAVAILABLE)
            return
        await self.join_group()
        try:
            await self.start_session({}, resume_id=self.requested_resume_id())
        except Exception:
            logger.exception("a live session could not be opened")
            await self.send_json({"type": "error", "error": "the server cannot open a session now; retrying"})
            await self.release_socket_slot()
            self.stream = None  # nothing to end at disconnect
            await self.close(code=SESSION_UNAVAILABLE)
            return
        self.watcher = asyncio.create_task(self.watch_connection())

    async def disconnect(self, code: int) -> None:
        await self.release_socket_slot()
        if self.stream is None:  # refused, or closed before the model was ready: nothing to end
            return
        if self.watcher is not None:  # stopped, not cancelled: a write it has begun must not be dropped
            self.closing.set()
            await self.watcher
        if self.in_group:
            try:
                await self.channel_layer.group_discard(RECOGNITION_GROUP, self.channel_name)
            except Exception as error:  # the broker is down: its group entry expires by itself
                logger.warning("could not leave the model broadcast group: %s", error)
        await self.end_session(reason=EndReason.DISCONNECTED, notify=False)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Frames skip Channels' per-message database connection check (a thread hop per frame):
        every database call here goes through `database_sync_to_async`, which does that check."""
        if message.get("type") == "websocket.receive" and self.stream is not None:
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

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
        """Hold one of the user's live-socket slots, or refuse the socket (an error, then TOO_MANY_SOCKETS).
        Without the cache (Redis down) the socket is let in: the cap is not worth an outage."""
        acquire = sync_to_async(socket_slots.acquire, thread_sensitive=False)
        try:
            self.socket_slot = await acquire(self.user.pk, self.channel_name)
        except Exception as error:
            logger.warning("live-socket cap not checked (cache unavailable): %s", error)
            return True
        if self.socket_slot is None:
            await self.send_json({"type": "error", "error": f"too many live sessions open: at most "
                                  f"{socket_slots.limit()} at once; close another tab first"})
            await self.close(code=TOO_MANY_SOCKETS)
            return False
        self.slot_keeper = asyncio.create_task(socket_slots.keep(self.user.pk, self.socket_slot, self.channel_name))
        return True

    async def release_socket_slot(self) -> None:
        if self.socket_slot is None:
            return
        if self.slot_keeper is not None:
            self.slot_keeper.cancel()
        release = sync_to_async(socket_slots.release, thread_sensitive=False)
        try:
            await release(self.user.pk, self.socket_slot, self.channel_name)
        except Exception as error:  # the slot expires by itself
            logger.warning("could not release a live-socket slot: %s", error)
        self.socket_slot = None

    def requested_resume_id(self) -> int | None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        value = (query.get("resume") or [""])[0]
        return int(value) if value.isdigit() and len(value) < 19 else None

    # --- frames ------------------------------------------------------------------------------

    async def receive_frame(self, data: bytes) -> None:
        recorder = self.recorder
        if recorder is None:
            await self.refuse({"type": "error", "error": 'no session is running: send {"type": "start"} first'})
            return
        frame_number, offset_ms = recorder.receive_frame()
        if self.in_flight >= MAX_IN_FLIGHT:
            recorder.drop_frame()
            await self.send_json({"type": "dropped", "frame": frame_number})
            return
        self.in_flight += 1
        task = asyncio.create_task(self.process_frame(recorder, frame_number, offset_ms, data))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def process_frame(
        self, recorder: services.SessionRecorder, frame_number: int, offset_ms: int, data: bytes
    ) -> None:
        try:
            async with self.frame_lock:
                faces, stored, ms = await asyncio.get_running_loop().run_in_executor(
                    EXECUTOR, services.analyse_frame, self.stream, data
                )
        except InvalidImageError as error:
            reply = {"type": "error", "frame": frame_number, "error": str(error)}
        except Exception:
            logger.exception("frame %s of session %s failed", frame_number, recorder.session.pk)
            reply = {"type": "error", "frame": frame_number, "error": "the server could not process this frame"}
        else:
            recorder.add_result(offset_ms, stored)  # as found; the page gets them smoothed
            await self.write_pending(recorder)
            reply = {"type": "result", "frame": frame_number, "faces": faces, "ms": round(ms, 1)}
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
            await self.end_session(reason=EndReason.STOPPED, notify=True)
        elif kind == "stop":
            await self.refuse({"type": "error", "error": "no session is running"})
        else:
            await self.refuse({"type": "error", "error": f"unknown message type {kind[:40]!r}"})

    async def start_session(self, message: dict[str, Any], *, resume_id: int | None = None) -> None:
        """Start (or resume) a session; if one is running, add the client info of `message` to it."""
        info = services.client_info(headers=self.scope.get("headers", []), message=message)
        resumed = False
        if self.recorder is None:
            session, resumed = await database_sync_to_async(services.open_session)(
                user=self.user, connection=self.connection_id, resume_id=resume_id, client_info=info
            )
            # Faces get numbers after those the session used already (none if it is new).
            next_track = await database_sync_to_async(selectors.next_track_number)(session=session) if resumed else 1
            self.stream.reset(next_track=next_track)
            self.recorder = services.SessionRecorder(session)
        else:
            await database_sync_to_async(services.update_client_info)(session=self.recorder.session, info=info)
        session = self.recorder.session
        await self.send_json({
            "type": "session", "id": session.pk, "model": session.model_label,
            "started": session.started_at.isoformat(), "resumed": resumed,
        })

    async def end_session(self, *, reason: str, notify: bool) -> None:
        """Let the frames in flight finish, write everything, and mark the session ended.

        The writing runs in a task of its own that outlives this connection: a database outage
        is waited out (retried for `SESSION_WRITE_RETRY_SECONDS`) even after the socket is gone.
        """
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=CLOSE_TIMEOUT)
        await asyncio.shield(detach(self.close_session(recorder, reason=reason)))
        if notify:
            await self.send_json({
                "type": "stopped", "id": recorder.session.pk, "frames": recorder.received,
                "processed": recorder.processed, "dropped": recorder.dropped, "faces": recorder.faces,
            })

    async def close_session(self, recorder: services.SessionRecorder, *, reason: str) -> None:
        deadline = time.monotonic() + settings.SESSION_WRITE_RETRY_SECONDS
        try:
            await self.write_until_done(recorder, deadline=deadline)  # counts its losses itself
            end = partial(services.end_session, session=recorder.session, connection=self.connection_id, reason=reason)
            await retry_until(database_sync_to_async(end), deadline=deadline, what="ending a session")
        except asyncio.CancelledError:
            logger.error("session %s: the server stopped before %d answered detection(s) could be written",
                         recorder.session.pk, recorder.pending_detections)
            raise
        except Exception:
            logger.exception("session %s could not be closed", recorder.session.pk)

    # --- writing ---------------------------------------------------------------------------

    async def write_pending(self, recorder: services.SessionRecorder) -> None:
        """Write what the recorder holds; a failure is logged and kept for the next write."""
        try:
            await self.flush(recorder)
        except Exception as error:
            logger.warning("session %s: writing %d detection(s) failed, will retry: %s",
                           recorder.session.pk, recorder.pending_detections, error)

    async def flush(self, recorder: services.SessionRecorder) -> None:
        async with self.flush_lock:  # a session's writes stay in order
            batch = recorder.take_batch()
            if batch is not None:
                try:
                    await batch_writer().write(batch)
                except asyncio.CancelledError:
                    batch.abandoned = True  # the writer has it now: it writes it, or logs its loss
                    raise
                except BaseException:
                    recorder.put_back(batch)
                    raise

    async def write_until_done(self, recorder: services.SessionRecorder, *, deadline: float) -> bool:
        """Retry the recorder's writes until they succeed or `deadline` passes; then count the loss
        (on the session if the database allows, in the log always). Returns whether all was written."""
        try:
            await retry_until(partial(self.flush, recorder), deadline=deadline, what="writing detections")
            return True
        except Exception:
            lost = recorder.pending_detections
            logger.error("session %s: gave up writing after %.0f s: %d answered detection(s) lost",
                         recorder.session.pk, settings.SESSION_WRITE_RETRY_SECONDS, lost)
            if lost:
                count = partial(services.count_lost_detections, session_id=recorder.session.pk, lost=lost)
                with contextlib.suppress(Exception):
                    await database_sync_to_async(count)()
            return False

    async def watch_connection(self) -> None:
        """Every `FLUSH_INTERVAL`: retry failed writes, note the broker's state; every
        `SESSION_KEEPALIVE_SECONDS`, tell the database this connection is alive."""
        last_keepalive = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), FLUSH_INTERVAL)
            if self.closing.is_set():  # disconnect writes what is left
                return
            recorder = self.recorder
            if recorder is None:
                continue
            try:
                if recorder.pending_detections:
                    await self.write_pending(recorder)
                await self.watch_broker()
                if time.monotonic() - last_keepalive >= settings.SESSION_KEEPALIVE_SECONDS:
                    last_keepalive = time.monotonic()
                    owned = await database_sync_to_async(services.keep_session_alive)(
                        session_id=recorder.session.pk, connection=self.connection_id
                    )
                    if not owned and self.recorder is recorder:
                        await self.give_up_session(recorder)
            except Exception:  # the next round tries again; the socket goes on
                logger.exception("session %s: checking the connection failed", recorder.session.pk)

    async def give_up_session(self, recorder: services.SessionRecorder) -> None:
        """Another connection resumed the session, or it was ended: this one stops recording it."""
        logger.warning("session %s is no longer this connection's; closing it", recorder.session.pk)
        self.recorder = None
        deadline = time.monotonic() + settings.SESSION_WRITE_RETRY_SECONDS
        detach(self.write_until_done(recorder, deadline=deadline))  # its answered faces are still written
        await self.send_json({"type": "error", "error": "this session continues in another connection"})
        await self.close(code=SESSION_TAKEN_OVER)

    # --- channel layer (model activation broadcasts) -------------------------------------------

    async def join_group(self) -> None:
        try:
            await self.channel_layer.group_add(RECOGNITION_GROUP, self.channel_name)
        except Exception as error:
            logger.warning("could not join the model broadcast group (message broker down?): %s", error)
            self.in_group = False
        else:
            self.in_group = True

    async def watch_broker(self) -> None:
        """Tell the client when the message broker goes away and comes back (frames keep flowing
        meanwhile; only model activation broadcasts pause), and rejoin the group on its return."""
        available = getattr(self.channel_layer, "available", True)
        if available and not self.in_group:
            await self.join_group()
            if self.in_group:
                await self.send_json({"type": "notice", "level": "ok",
                                      "notice": "the message broker is back: model updates resume"})
                # A model activated during the outage was announced to nobody: catch up from the registry.
                label = await database_sync_to_async(active_model.follow_and_name)()
                await self.send_json({"type": "model", "label": label})
        elif not available and self.in_group:
            self.in_group = False
            await self.send_json({"type": "notice", "level": "warning", "notice": (
                "the server's message broker is unavailable: recognition goes on, "
                "but model updates pause until it is back")})

    async def model_activated(self, event: dict[str, Any]) -> None:
        """An admin activated another model: classify the next frames with it."""
        try:
            activate = partial(active_model.switch_model, event["model_dir"])
            await asyncio.get_running_loop().run_in_executor(EXECUTOR, activate)
        except Exception:  # a bad event or model must not end the socket: keep the model in use
            logger.exception("could not switch to the model of %r", event)
            return
        label = event.get("label") or await database_sync_to_async(active_model.current_model_label)()
        await self.send_json({"type": "model", "label": label})

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content))
