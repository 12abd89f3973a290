"""Outgoing mail: the SMTP settings from one `EMAIL_URL`, and what happens without one.

`EMAIL_URL` forms (user and password percent-encoded):
* `smtp://user:password@host:587` — SMTP with STARTTLS (the usual submission port; 587 by default);
* `smtps://user:password@host:465` — SMTP over TLS from the first byte (465 by default);
* `smtp+plain://host:25` — SMTP without encryption (a relay on the same host or network only);
* `console://` — print messages to the log (development only: refused when DEBUG is off).

Without `EMAIL_URL`: the console with DEBUG on; with DEBUG off, `UndeliveredMailBackend`, which logs
that a message was not sent (recipients and subject) but never its body, so that password-reset
links with valid tokens never reach a log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
UNDELIVERED_BACKEND = "fer_site.mail.UndeliveredMailBackend"
SMTP_SCHEMES = {"smtp": (587, True, False), "smtps": (465, False, True), "smtp+plain": (25, False, False)}


def email_settings(url: str, *, debug: bool) -> dict[str, Any]:
    """The Django EMAIL_* settings for `EMAIL_URL` (empty: none given); ImproperlyConfigured if unusable."""
    if not url:
        return {"EMAIL_BACKEND": CONSOLE_BACKEND if debug else UNDELIVERED_BACKEND}
    parts = urlsplit(url)
    if parts.scheme == "console":
        if not debug:
            raise ImproperlyConfigured("EMAIL_URL=console:// would print password-reset links to the log; "
                                       "it is refused when DEBUG is off")
        return {"EMAIL_BACKEND": CONSOLE_BACKEND}
    if parts.scheme not in SMTP_SCHEMES:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme {parts.scheme!r}; use one of "
                                   f"{', '.join(sorted(SMTP_SCHEMES))} or console")
    default_port, starttls, implicit_tls = SMTP_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL: the port is not a number") from None
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no host, e.g. smtp://user:password@mail.example.com:587")
    return {
        "EMAIL_BACKEND": SMTP_BACKEND, "EMAIL_HOST": parts.hostname, "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""), "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": starttls, "EMAIL_USE_SSL": implicit_tls,
    }


class UndeliveredMailBackend(BaseEmailBackend):
    """Production without EMAIL_URL: nothing is sent, and a warning says so without the message's body."""

    def send_messages(self, email_messages: Sequence) -> int:
        for message in email_messages:
            logger.warning("e-mail not sent (set EMAIL_URL to send mail): to %s, subject %r",
                           ", ".join(message.recipients()), message.subject)
        return 0
