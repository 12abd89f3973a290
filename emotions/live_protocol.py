"""What a live client may send, checked defensively: every refusal is a `ProtocolError` whose
message is meant for the client, and repeated refusals mark the client as abusive."""

from __future__ import annotations

import json
from typing import Any

MAX_CONTROL_CHARS = 4096  # a control message is a small JSON object; anything longer is refused unread


class ProtocolError(ValueError):
    """A message the live protocol refuses; `str(error)` is the reason sent to the client."""


def parse_control(text: str) -> dict[str, Any]:
    """The JSON object of a text message, with a string `"type"`; `ProtocolError` otherwise.

    The length is checked before parsing, and JSON nested too deeply for the parser (which
    raises `RecursionError`, not `ValueError`) is refused like any other invalid JSON.
    """
    if len(text) > MAX_CONTROL_CHARS:
        raise ProtocolError(f"a control message is at most {MAX_CONTROL_CHARS} characters")
    try:
        message = json.loads(text)
    except RecursionError:
        raise ProtocolError("invalid JSON in a text message (nested too deeply)") from None
    except ValueError:
        raise ProtocolError("invalid JSON in a text message") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError('a control message is a JSON object with a "type"')
    return message


class BadMessageCounter:
    """Counts the client's refused messages in a row; any accepted message starts the count again."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0

    def refused(self) -> bool:
        """Count one refused message; True when this one takes the client over the limit (close the
        socket: once, so messages already on their way do not close it again)."""
        self.in_a_row += 1
        return self.in_a_row == self.limit + 1

    def accepted(self) -> None:
        self.in_a_row = 0
