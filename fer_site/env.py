"""Reading settings from the environment strictly: a value that cannot be understood stops start-up
with `ImproperlyConfigured` naming the variable, instead of quietly meaning something else."""

from __future__ import annotations

import os
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})
FALSE_VALUES = frozenset({"0", "false", "no", "off"})
MIN_SECRET_KEY_LENGTH = 50  # as Django's deploy check (security.W009)
MIN_SECRET_KEY_CHARACTERS = 5
INSECURE_KEY_PREFIX = "django-insecure"


def env_bool(name: str, default: bool) -> bool:
    """Unset: `default`; one of TRUE_VALUES / FALSE_VALUES (any case): that; anything else,
    the empty string included, is refused (`DEBUG=""` must not mean on, nor `DEBUG=flase` off)."""
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_VALUES:
        return True
    if word in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of {', '.join(sorted(TRUE_VALUES | FALSE_VALUES))}"
    )


def env_int(name: str, default: int) -> int:
    """Unset or empty: `default`; else a whole number, or start-up stops naming the variable."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def check_production(*, debug: bool, secret_key: str, allowed_hosts: Sequence[str]) -> None:
    """With DEBUG off, refuse what would make the deployment weak: a guessable or development
    SECRET_KEY, and ALLOWED_HOSTS that accepts any host."""
    if debug:
        return
    if secret_key.startswith(INSECURE_KEY_PREFIX):
        raise ImproperlyConfigured("SECRET_KEY is a development key; set a long random one when DEBUG is off")
    if len(secret_key) < MIN_SECRET_KEY_LENGTH or len(set(secret_key)) < MIN_SECRET_KEY_CHARACTERS:
        raise ImproperlyConfigured(
            f"SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} random characters when DEBUG is off"
        )
    if any(host.strip() == "*" for host in allowed_hosts):
        raise ImproperlyConfigured("ALLOWED_HOSTS must name the site's hosts, not '*', when DEBUG is off")


RATE_PERIODS = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")
NO_LIMIT = frozenset({"off", "none"})


def env_rate(name: str, default: str) -> str | None:
    """A DRF rate such as "30/minute" ("off" or "none": no limit), or start-up stops naming the variable."""
    value = os.environ.get(name, default).strip()
    if value.lower() in NO_LIMIT:
        return None
    count, _, period = value.partition("/")
    if not (count.isdigit() and period in RATE_PERIODS):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate: use e.g. 30/minute (per s, m, h or d), or off")
    return value
