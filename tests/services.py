"""Reaching the real services tests need: skip with a reason locally, fail in CI (CI=true)."""

import os
import socket
from urllib.parse import urlparse

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def service_unavailable(what: str) -> None:
    """Fail in CI, where every service must be there; skip with a printed reason elsewhere."""
    if IN_CI:
        pytest.fail(f"{what} is not available, and CI=true requires it")
    pytest.skip(f"{what} is not available here")


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
POSTGRES_URL = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test"


def require_redis() -> str:
    if not reachable(REDIS_URL, 6379):
        service_unavailable(f"Redis at {REDIS_URL}")
    return REDIS_URL


def require_postgres() -> str:
    if not POSTGRES_URL.startswith("postgres") or not reachable(POSTGRES_URL, 5432):
        service_unavailable(f"PostgreSQL at {POSTGRES_URL}")
    return POSTGRES_URL
