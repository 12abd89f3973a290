"""The project's ASGI application served by Daphne in a thread of the test process.

In-process rather than a subprocess because it must see the test database: pytest-django gives
SQLite an in-memory database that no other process can open (with PostgreSQL a subprocess could
use `test_<name>`, but one way for both is simpler). Tests using it need
`@pytest.mark.django_db(transaction=True)` so the data they create is committed and visible to
the server's threads. Twisted's reactor cannot be restarted, so there is one server per test run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings

STARTUP_TIMEOUT = 30.0


class LiveAsgiServer:
    """Daphne on 127.0.0.1, a free port, static files served from the finders (DEBUG is off in tests)."""

    def __init__(self) -> None:
        from daphne.server import Server  # installs Twisted's asyncio reactor: import here, not at collection
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from fer_site.asgi import application

        # Daphne's default 1 MB message limit would close the socket before the consumer can
        # answer an oversized frame with an error; allow the frame limit plus headroom.
        max_message = settings.MAX_FRAME_BYTES * 2
        self.server = Server(
            ASGIStaticFilesHandler(application),
            endpoints=["tcp:port=0:interface=127.0.0.1"],
            signal_handlers=False,
            verbosity=0,
            websocket_max_message_size=max_message,
            websocket_max_frame_size=max_message,
        )
        self.thread = threading.Thread(target=self.server.run, name="live-asgi-server", daemon=True)

    def start(self) -> LiveAsgiServer:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.server.listening_addresses:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live ASGI server did not start")
            time.sleep(0.05)
        return self

    @property
    def url(self) -> str:
        host, port = self.server.listening_addresses[0]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        from twisted.internet import reactor

        if self.thread.is_alive():
            reactor.callFromThread(reactor.stop)
            self.thread.join(timeout=10)


_server: LiveAsgiServer | None = None


def live_asgi_server() -> LiveAsgiServer:
    """The test run's server, started at first use."""
    global _server
    if _server is None:
        _server = LiveAsgiServer().start()
    return _server


def stop_live_asgi_server() -> None:
    if _server is not None:
        _server.stop()


# Fixtures, imported by the conftests of the folders whose tests use the server.


@pytest.fixture(scope="session")
def asgi_server() -> Iterator[LiveAsgiServer]:
    yield live_asgi_server()
    stop_live_asgi_server()


@pytest.fixture
def live_url(asgi_server: LiveAsgiServer, settings) -> str:
    """The live server's address; plain-HTTP cookies whatever DEBUG says."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    return asgi_server.url
