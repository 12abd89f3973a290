"""Load test of the live WebSocket (used by `manage.py loadtest_ws`): plain Python, no Django.

N clients, each signed in through the login page (a real Django session cookie, CSRF token
included), stream the same JPEG at F frames per second to `/ws/live/`, with at most
`max_in_flight` frames unanswered like the browser client. Reported: achieved frames per
second, round-trip latency percentiles, the server's own time per frame, errors, dropped frames,
and the server process's resident memory before and after.

The WebSocket client is a minimal RFC 6455 implementation on asyncio streams (what a load test
needs: text and binary messages, ping and close), so the tool needs no extra package.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import math
import os
import re
import struct
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from http.cookiejar import CookieJar
from typing import Any

import numpy as np
import psutil

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
LIVE_PATH = "/ws/live/"
LOGIN_PATH = "/accounts/login/"
USER_AGENT = "moodlens-loadtest/1"


class LoadTestError(RuntimeError):
    """The load test could not run (server unreachable, login refused, handshake failed)."""


class ConnectionClosed(Exception):
    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"WebSocket closed ({code}) {reason}".strip())
        self.code = code


# --- a minimal WebSocket client ------------------------------------------------------------------


class WebSocketClient:
    """Client side of RFC 6455 over asyncio streams: masked frames out, unmasked frames in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.closed = False

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> WebSocketClient:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "ws":
            raise LoadTestError(f"only ws:// URLs are supported, not {url}")
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {parsed.path or '/'}{'?' + parsed.query if parsed.query else ''} HTTP/1.1",
            f"Host: {parsed.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *header_lines = response.decode("latin-1").split("\r\n")
        if " 101 " not in f"{status_line} ":
            writer.close()
            raise LoadTestError(f"WebSocket handshake refused: {status_line}")
        received = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)
        }
        expected = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
        if received.get("sec-websocket-accept") != expected:
            writer.close()
            raise LoadTestError("WebSocket handshake: wrong Sec-WebSocket-Accept")
        return cls(reader, writer)

    async def send_frame(self, opcode: int, payload: bytes) -> None:
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        mask = os.urandom(4)
        self.writer.write(header + mask + mask_bytes(payload, mask))
        await self.writer.drain()

    async def send_bytes(self, data: bytes) -> None:
        await self.send_frame(OP_BINARY, data)

    async def send_json(self, content: Any) -> None:
        await self.send_frame(OP_TEXT, json.dumps(content).encode())

    async def receive(self) -> tuple[int, bytes]:
        """The next complete data message as (opcode, payload); answers pings; raises on close."""
        message_opcode, parts = None, []
        while True:
            first, second = await self.reader.readexactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            mask = await self.reader.readexactly(4) if second & 0x80 else None
            payload = await self.reader.readexactly(length)
            if mask:
                payload = mask_bytes(payload, mask)
            if opcode == OP_PING:
                await self.send_frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = True
                raise ConnectionClosed(code, payload[2:].decode(errors="replace"))
            if opcode != OP_CONTINUATION:
                message_opcode = opcode
            parts.append(payload)
            if first & 0x80:
                return message_opcode or OP_BINARY, b"".join(parts)

    async def receive_json(self) -> Any:
        while True:
            opcode, payload = await self.receive()
            if opcode == OP_TEXT:
                return json.loads(payload)

    async def close(self, code: int = 1000, timeout: float = 2) -> None:
        if not self.closed:
            self.closed = True
            try:
                await self.send_frame(OP_CLOSE, struct.pack("!H", code))
                async with asyncio.timeout(timeout):
                    while True:
                        await self.receive()
            except (ConnectionClosed, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
                pass
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def mask_bytes(payload: bytes, mask: bytes) -> bytes:
    data = np.frombuffer(payload, np.uint8)
    key = np.resize(np.frombuffer(mask, np.uint8), len(data))
    return (data ^ key).tobytes()


# --- signing in ----------------------------------------------------------------------------------


def sign_in(base_url: str, username: str, password: str, timeout: float = 30) -> str:
    """Log in through the login page (with its CSRF token); returns the Cookie header to send."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_url = base_url.rstrip("/") + LOGIN_PATH
    try:
        html = opener.open(login_url, timeout=timeout).read().decode()
    except OSError as error:
        raise LoadTestError(f"cannot reach {login_url}: {error}") from error
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if token is None:
        raise LoadTestError(f"no CSRF token in the login page at {login_url}")
    form = urllib.parse.urlencode({
        "username": username, "password": password, "csrfmiddlewaretoken": token.group(1), "next": "/live/",
    }).encode()
    parts = urllib.parse.urlsplit(login_url)  # as a browser does: Django's CSRF check compares Origin and Host
    request = urllib.request.Request(login_url, data=form, headers={
        "Referer": login_url, "Origin": f"{parts.scheme}://{parts.netloc}",
    })
    with opener.open(request, timeout=timeout) as response:
        if urllib.parse.urlsplit(response.geturl()).path == LOGIN_PATH:
            raise LoadTestError(f"login refused for {username!r}")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class ClientStats:
    sent: int = 0
    results: int = 0
    faces: int = 0
    dropped: int = 0
    errors: int = 0
    skipped: int = 0  # ticks with max_in_flight frames unanswered: the client waited, like the browser
    latencies_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    failure: str | None = None


@dataclass
class LoadTestConfig:
    base_url: str
    clients: int
    fps: float
    seconds: float
    max_in_flight: int = 2
    answer_timeout: float = 10.0
    ramp_up: float = 1.0  # clients connect evenly spread over this many seconds, not all in the same instant


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def websocket_url(base_url: str) -> str:
    parsed = urllib.parse.urlsplit(base_url)
    if parsed.scheme not in {"http", "https"}:
        raise LoadTestError(f"--url must be an http:// address, not {base_url}")
    return f"{'wss' if parsed.scheme == 'https' else 'ws'}://{parsed.netloc}{LIVE_PATH}"


async def run_client(config: LoadTestConfig, cookie: str, frame: bytes, *, delay: float = 0.0) -> ClientStats:
    """One client: wait `delay`, connect, stream `frame` at `config.fps` for `config.seconds`, stop, close."""
    stats = ClientStats()
    await asyncio.sleep(delay)
    origin = urllib.parse.urlsplit(config.base_url)
    headers = {"Cookie": cookie, "Origin": f"{origin.scheme}://{origin.netloc}", "User-Agent": USER_AGENT}
    try:
        client = await WebSocketClient.connect(websocket_url(config.base_url), headers)
    except (OSError, LoadTestError, TimeoutError) as error:
        stats.failure = f"connect: {error}"
        return stats
    in_flight: dict[int, float] = {}
    answered = asyncio.Event()
    stopped = asyncio.Event()
    started = asyncio.Event()

    async def read() -> None:
        while True:
            message = await client.receive_json()
            kind = message.get("type")
            if kind == "session":
                started.set()
            elif kind == "stopped":
                stopped.set()
                return
            elif kind in {"result", "dropped", "error"}:
                sent_at = in_flight.pop(message.get("frame"), None)
                if kind == "result":
                    stats.results += 1
                    stats.faces += len(message["faces"])
                    stats.server_ms.append(float(message["ms"]))
                    if sent_at is not None:
                        stats.latencies_ms.append((time.perf_counter() - sent_at) * 1000)
                elif kind == "dropped":
                    stats.dropped += 1
                else:
                    stats.errors += 1
                answered.set()

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(config.answer_timeout):
            await started.wait()
        await client.send_json({"type": "start", "width": 640, "height": 480})
        loop = asyncio.get_running_loop()
        interval = 1 / config.fps
        next_tick = loop.time()
        end = next_tick + config.seconds
        frame_number = 0
        while next_tick < end and not reader.done():
            if len(in_flight) < config.max_in_flight:
                in_flight[frame_number] = time.perf_counter()
                frame_number += 1
                stats.sent += 1
                await client.send_bytes(frame)
            else:
                stats.skipped += 1
            next_tick += interval
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
        async with asyncio.timeout(config.answer_timeout):
            while in_flight and not reader.done():
                answered.clear()
                await answered.wait()
        await client.send_json({"type": "stop"})
        async with asyncio.timeout(config.answer_timeout):
            await stopped.wait()
    except (ConnectionClosed, ConnectionError, asyncio.IncompleteReadError) as error:
        stats.failure = f"connection lost: {error}"
    except TimeoutError:
        stats.failure = f"no answer within {config.answer_timeout:g} s ({len(in_flight)} frames unanswered)"
    finally:
        if reader.done() and not reader.cancelled() and reader.exception() and stats.failure is None:
            stats.failure = f"connection lost: {reader.exception()}"
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await client.close()
    return stats


def find_server_pid(base_url: str) -> int | None:
    """The PID of the process listening on the URL's port on this machine, if any."""
    port = urllib.parse.urlsplit(base_url).port or 80
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
                return connection.pid
    except psutil.AccessDenied:
        return None
    return None


def rss_bytes(process: psutil.Process | None) -> int | None:
    try:
        return process.memory_info().rss if process else None
    except psutil.Error:
        return None


async def run_load(config: LoadTestConfig, cookies: list[str], frame: bytes) -> list[ClientStats]:
    step = config.ramp_up / len(cookies) if cookies else 0.0
    return await asyncio.gather(
        *(run_client(config, cookie, frame, delay=index * step) for index, cookie in enumerate(cookies))
    )


def run_load_test(
    config: LoadTestConfig, cookies: list[str], frame: bytes, *, server_pid: int | None = None
) -> dict[str, Any]:
    """Run the clients (one per cookie) and summarise; blocking."""
    process = None
    pid = server_pid or find_server_pid(config.base_url)
    if pid:
        try:
            process = psutil.Process(pid)
            process.cpu_percent(None)
        except psutil.Error:
            process = None
    rss_before = rss_bytes(process)
    started = time.perf_counter()
    clients = asyncio.run(run_load(config, cookies, frame))
    elapsed = time.perf_counter() - started
    time.sleep(1.0)  # let the server write the sessions before measuring it
    rss_after = rss_bytes(process)
    try:
        server_cpu = process.cpu_percent(None) if process else None
    except psutil.Error:
        server_cpu = None
    return summarise(config, clients, elapsed=elapsed, pid=pid, rss_before=rss_before, rss_after=rss_after,
                     server_cpu=server_cpu)


def summarise(
    config: LoadTestConfig,
    clients: list[ClientStats],
    *,
    elapsed: float,
    pid: int | None = None,
    rss_before: int | None = None,
    rss_after: int | None = None,
    server_cpu: float | None = None,
) -> dict[str, Any]:
    latencies = [value for client in clients for value in client.latencies_ms]
    server_ms = [value for client in clients for value in client.server_ms]
    results = sum(client.results for client in clients)
    failures = [client.failure for client in clients if client.failure]

    def rounded(value: float | None, digits: int = 1) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "url": config.base_url,
        "clients": config.clients,
        "target_fps": config.fps,
        "seconds": config.seconds,
        "ramp_up_seconds": config.ramp_up,
        "elapsed_seconds": round(elapsed, 2),
        "frames_sent": sum(client.sent for client in clients),
        "results": results,
        "faces": sum(client.faces for client in clients),
        "achieved_fps_per_client": round(results / config.clients / config.seconds, 2) if config.clients else 0,
        "achieved_fps_total": round(results / config.seconds, 2),
        "latency_ms": {name: rounded(percentile(latencies, q)) for name, q in (("p50", .5), ("p95", .95), ("p99", .99))}
        | {"max": rounded(max(latencies, default=None))},
        "server_ms": {"p50": rounded(percentile(server_ms, .5)), "p95": rounded(percentile(server_ms, .95))},
        "dropped": sum(client.dropped for client in clients),
        "skipped_ticks": sum(client.skipped for client in clients),
        "errors": sum(client.errors for client in clients) + len(failures),
        "failures": failures,
        "server": {
            "pid": pid,
            "rss_before_mb": rounded(rss_before / 2**20 if rss_before else None),
            "rss_after_mb": rounded(rss_after / 2**20 if rss_after else None),
            "cpu_percent": rounded(server_cpu),
        },
        "per_client": [asdict(client) | {"latencies_ms": None, "server_ms": None} for client in clients],
    }


def meets_bar(summary: dict, p95_bar_ms: float) -> bool:
    """The production goal: no errors, no frame dropped, and the round trip's p95 within the bar."""
    p95 = summary["latency_ms"]["p95"]
    return summary["errors"] == 0 and summary["dropped"] == 0 and p95 is not None and p95 <= p95_bar_ms


def format_report(summary: dict[str, Any]) -> str:
    latency, server = summary["latency_ms"], summary["server"]
    lines = [
        f"{summary['clients']} clients x {summary['target_fps']:g} fps for {summary['seconds']:g} s against "
        f"{summary['url']}",
        f"  frames sent {summary['frames_sent']}, results {summary['results']} ({summary['faces']} faces), "
        f"dropped by server {summary['dropped']}, ticks skipped (2 in flight) {summary['skipped_ticks']}",
        f"  achieved {summary['achieved_fps_per_client']} fps per client, {summary['achieved_fps_total']} fps in all",
        f"  round trip ms: p50 {latency['p50']}  p95 {latency['p95']}  p99 {latency['p99']}  max {latency['max']}",
        f"  server ms per frame: p50 {summary['server_ms']['p50']}  p95 {summary['server_ms']['p95']}",
        f"  errors {summary['errors']}" + "".join(f"\n    {failure}" for failure in summary["failures"]),
        f"  server pid {server['pid']}: RSS {server['rss_before_mb']} MB before, {server['rss_after_mb']} MB after, "
        f"CPU {server['cpu_percent']}% during the run",
    ]
    return "\n".join(lines)
