"""Serve the ASGI application with uvicorn, configured from the Django settings.

    python -m fer_site.asgi_server --host 127.0.0.1 --port 8001

One place sets what the server enforces, so `make run`, `make prod` and a systemd unit behave
alike: the WebSocket message limit (`WEBSOCKET_MAX_MESSAGE_BYTES`, derived from `MAX_FRAME_BYTES`),
keep-alive pings that find dead peers, and trust in the proxy's forwarded headers (client address,
scheme) from `FORWARDED_ALLOW_IPS` only (default 127.0.0.1: nginx on the same host; list the
addresses of nginx hosts when the ASGI processes run elsewhere, and bind with --host).
"""

from __future__ import annotations

import argparse
import os

WS_PING_SECONDS = 20.0  # a peer that does not answer a ping within this is closed
# On SIGTERM, open sockets get this long to close (their sessions' writes finish in it) before the
# server cancels what is left; the pages reconnect to another process and resume.
GRACEFUL_SHUTDOWN_SECONDS = 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--uds", help="listen on this Unix socket instead of host:port")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fer_site.settings")
    import django
    import uvicorn
    from django.conf import settings

    django.setup()
    args = parse_args(argv)
    uvicorn.run(
        "fer_site.asgi:application",
        host=args.host, port=args.port, uds=args.uds,
        ws="websockets", ws_max_size=settings.WEBSOCKET_MAX_MESSAGE_BYTES,
        ws_ping_interval=WS_PING_SECONDS, ws_ping_timeout=WS_PING_SECONDS,
        proxy_headers=True, forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        lifespan="off", log_level=args.log_level, access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


if __name__ == "__main__":
    main()
