"""The production layout (deploy/run_prod.py, `make prod`): nginx in front of two ASGI processes, a
training worker and a housekeeping worker, on PostgreSQL and Redis, driven as browsers would.

One run checks what a deployment must hold: live sockets over Redis stay open for more than 30 s
on both processes; an activated model reaches both; a process killed mid-session is survived, its
pages reconnecting through nginx into the same sessions; every answered face is in the database;
nginx refuses an oversized upload; a 1.5 MB WebSocket message is answered, not dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.frames import astronaut_bgr, encode_jpeg, place_in_frame
from bench.loadtest import sign_in
from emotions.models import CaptureSession, Detection
from tests.factories import PASSWORD, UserFactory
from tests.services import require_postgres, require_redis, service_unavailable
from training.services import registry

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RUN_PROD = Path(django_settings.BASE_DIR) / "deploy" / "run_prod.py"
START_TIMEOUT = 180.0  # seconds for migrate, collectstatic and four processes on a busy machine
QUIET_SECONDS = 32.0  # streaming with no server close: several times channels_redis's 5 s reads
AFTER_KILL_SECONDS = 12.0
CLIENTS = 4
FPS = 10.0


def free_port_block(size: int) -> int:
    """A port such that it and the `size - 1` after it are free on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size >= 65535:
            continue
        try:
            for port in range(base, base + size):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no block of free ports")


def nginx_available() -> bool:
    return any(Path(p).is_file() for p in ("/usr/sbin/nginx", "/usr/bin/nginx"))


def http_status(url: str, data: bytes | None = None, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def status_for_declared_body(url: str, path: str, length: int) -> int:
    """The status nginx answers to a POST declaring a `length`-byte body, before any byte of it:
    100 (send it) or 413 (too large)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/jpeg\r\n"
                           f"Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n".encode())
        return int(connection.recv(1024).split(b" ")[1])


@pytest.fixture
def layout(shared_database, tmp_path, settings) -> Iterator[dict]:
    require_postgres()
    redis_url = require_redis()
    if not os.environ.get("REDIS_URL"):
        service_unavailable("REDIS_URL in the test's environment (the test process broadcasts over Redis)")
    if not nginx_available():
        service_unavailable("nginx (Debian's package)")
    port = free_port_block(3)
    env = {
        **os.environ, "DATABASE_URL": shared_database, "REDIS_URL": redis_url, "PORT": str(port),
        "WEB_WORKERS": "2", "VAR_DIR": str(tmp_path / "var"), "STATIC_ROOT": str(tmp_path / "static"),
        "DEBUG": "false", "SECRET_KEY": uuid.uuid4().hex * 2, "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
        "TRAINING_QUEUE": f"test-{uuid.uuid4().hex[:8]}", "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    log = tmp_path / "run_prod.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, str(RUN_PROD)], cwd=django_settings.BASE_DIR, env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    state_file = tmp_path / "var" / "prod" / "processes.json"
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (state_file.is_file() and all(
            http_status(f"http://127.0.0.1:{p}/accounts/login/") == 200 for p in (port + 1, port + 2)
        ) and http_status(f"{url}/accounts/login/") == 200):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the production layout did not start:\n{log.read_text()[-5000:]}")
            time.sleep(1)
        yield {"url": url, "state_file": state_file, "process": process, "log": log, "env": env}
    finally:
        pids = []
        if state_file.is_file():
            pids = [p["pid"] for p in json.loads(state_file.read_text())["processes"] if p["pid"]]
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        leftovers = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
        assert leftovers == [], f"Ctrl-C left processes running: {leftovers}"


def asgi_processes(state_file: Path) -> list[dict]:
    return [p for p in json.loads(state_file.read_text())["processes"] if p["name"].startswith("asgi-")]


def established_connections(pid: int, port: int) -> int:
    return sum(1 for c in psutil.Process(pid).net_connections(kind="tcp")
               if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)


@dataclass
class LiveClient:
    """A page streaming one face: reconnects (resuming its session) when the server drops it."""

    url: str
    cookie: str
    frame: bytes
    session_ids: list[int] = field(default_factory=list)
    resumed: list[bool] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    answered_faces: int = 0
    results: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: dict | None = None

    def ws_url(self) -> str:
        base = self.url.replace("http://", "ws://") + "/ws/live/"
        return base + (f"?resume={self.session_ids[-1]}" if self.session_ids else "")

    async def open(self):
        socket = await connect(self.ws_url(), additional_headers={"Cookie": self.cookie, "Origin": self.url},
                               max_size=None, open_timeout=20)
        hello = json.loads(await asyncio.wait_for(socket.recv(), 20))
        assert hello["type"] == "session", hello
        self.session_ids.append(hello["id"])
        self.resumed.append(hello["resumed"])
        return socket

    async def stream(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        socket = await self.open()
        while True:
            try:
                await self.stream_on(socket, end)
                break
            except ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else None)
                socket = await self.reopen(end)
        await socket.send(json.dumps({"type": "stop"}))
        while self.stopped is None:
            self.handle(json.loads(await asyncio.wait_for(socket.recv(), 30)), {})
        await socket.close()

    async def reopen(self, end: float):
        for _ in range(40):
            await asyncio.sleep(0.5)
            try:
                return await self.open()
            except (TimeoutError, OSError, ConnectionClosed) as error:
                self.errors.append(f"reconnect: {error}")
        raise AssertionError(f"could not reconnect: {self.errors[-3:]}")

    async def stream_on(self, socket, end: float) -> None:
        in_flight: dict[int, float] = {}
        sent = 0
        next_tick = time.monotonic()
        while time.monotonic() < end:
            if len(in_flight) < 2:
                in_flight[sent] = time.monotonic()
                sent += 1
                await socket.send(self.frame)
            next_tick += 1 / FPS
            while True:
                timeout = next_tick - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
                except TimeoutError:
                    break
                self.handle(message, in_flight)
        while in_flight:
            self.handle(json.loads(await asyncio.wait_for(socket.recv(), 30)), in_flight)

    def handle(self, message: dict, in_flight: dict) -> None:
        kind = message["type"]
        if kind == "result":
            in_flight.pop(message["frame"], None)
            self.results += 1
            self.answered_faces += len(message["faces"])
        elif kind in {"dropped", "error"}:
            in_flight.pop(message.get("frame"), None)
            self.errors.append(json.dumps(message))
        elif kind == "model":
            self.models.append(message["label"])
        elif kind == "stopped":
            self.stopped = message


@sync_to_async
def session_row(session_id: int) -> tuple[CaptureSession, int]:
    return CaptureSession.objects.get(pk=session_id), Detection.objects.filter(session_id=session_id).count()


async def test_the_production_layout_holds_sessions_through_redis_activation_and_a_killed_process(
    layout, tiny_model_dir
):
    url, state_file = layout["url"], layout["state_file"]
    users = await sync_to_async(lambda: [UserFactory(username=f"prod{i}") for i in range(CLIENTS)])()
    cookies = [await sync_to_async(sign_in, thread_sensitive=False)(url, user.username, PASSWORD) for user in users]
    frame = encode_jpeg(place_in_frame(astronaut_bgr(), 110, 30), quality=80)
    clients = [LiveClient(url, cookie, frame) for cookie in cookies]
    streams = [asyncio.create_task(c.stream(QUIET_SECONDS + AFTER_KILL_SECONDS + 8)) for c in clients]

    await asyncio.sleep(QUIET_SECONDS)
    assert [c.closes for c in clients] == [[]] * CLIENTS, "a live socket was closed by the server"
    asgi = asgi_processes(state_file)
    load = {p["pid"]: established_connections(p["pid"], p["port"]) for p in asgi}
    assert all(count >= 1 for count in load.values()), f"sockets per ASGI process: {load}"

    version = await sync_to_async(registry.register_model_version)(
        name="tiny-activated", artifact_dir=tiny_model_dir
    )
    await sync_to_async(registry.activate_model_version)(version)
    deadline = time.monotonic() + 20
    while any("tiny-activated" not in c.models for c in clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert all("tiny-activated" in c.models for c in clients), [c.models for c in clients]

    victim = max(asgi, key=lambda p: load[p["pid"]])
    os.kill(victim["pid"], signal.SIGKILL)
    await asyncio.wait_for(asyncio.gather(*streams), timeout=AFTER_KILL_SECONDS + 120)

    dropped = [c for c in clients if c.closes]
    assert len(dropped) == load[victim["pid"]], "each client of the killed process reconnected once"
    for client in clients:
        assert len(set(client.session_ids)) == 1, "a reconnect started a new session"
        assert client.resumed == [False] + [True] * len(client.closes)
        assert client.stopped is not None
        assert all(error.startswith("reconnect") for error in client.errors), client.errors
        session, stored = await session_row(client.session_ids[0])
        assert session.end_reason == "stopped" and session.reconnects == len(client.closes)
        assert session.detections_lost == 0
        if client.closes:  # a frame written just before the kill may have lost only its answer
            assert client.answered_faces <= stored <= client.answered_faces + 2
        else:
            assert stored == client.answered_faces and session.frames_processed == client.results
        assert client.answered_faces >= FPS * QUIET_SECONDS * 0.5

    restarted = {p["name"]: p["restarts"] for p in asgi_processes(state_file)}
    assert restarted[victim["name"]] == 1 and set(restarted.values()) == {0, 1}

    # Limits: nginx refuses an upload over the app's limit before Python sees it; a WebSocket
    # message between 1 MiB and MAX_FRAME_BYTES is answered (not dropped), one over it too.
    over_predict = django_settings.PREDICT_MAX_BYTES + 200 * 1024
    assert status_for_declared_body(url, "/api/predict/", over_predict) == 413
    assert status_for_declared_body(url, "/api/videos/", over_predict) == 100  # videos have a limit of their own
    assert status_for_declared_body(url, "/api/videos/", django_settings.VIDEO_MAX_BYTES + 200 * 1024) == 413
    probe = LiveClient(url, cookies[0], frame)
    socket = await probe.open()
    for size, expected in ((1_500_000, "not a JPEG or PNG"), (django_settings.MAX_FRAME_BYTES + 1, "limit")):
        await socket.send(b"\x89" + b"\0" * (size - 1))
        answer = json.loads(await asyncio.wait_for(socket.recv(), 30))
        assert answer["type"] == "error" and expected in answer["error"], answer
    await socket.close()


def test_make_prod_refuses_to_start_without_postgres_and_redis(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run([sys.executable, str(RUN_PROD)], env={**env, "VAR_DIR": str(tmp_path)},
                            capture_output=True, text=True, timeout=60, cwd=django_settings.BASE_DIR)
    assert result.returncode == 2
    assert "DATABASE_URL and REDIS_URL must be set" in result.stderr
