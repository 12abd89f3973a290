"""Streamed CSV and JSON downloads of detections: one session's, or every session of a user.

The rows come from the database in chunks (a server-side cursor on PostgreSQL) and leave as they are
encoded, so an export of any size needs little memory. Under ASGI (the site's servers) Django would
read a synchronous iterator whole before sending it; the response gets an asynchronous one instead,
which pulls each chunk in the request's sync thread, where the database cursor lives.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, StreamingHttpResponse

ROWS_PER_CHUNK = 500


def _chunks(rows: Iterable[Sequence[Any]], size: int = ROWS_PER_CHUNK) -> Iterator[list[Sequence[Any]]]:
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def csv_lines(fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A header line, then the rows, as CSV text, a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    for chunk in _chunks(rows):
        writer.writerows(chunk)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()  # the header alone when there are no rows


def json_document(head: dict[str, Any], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """`head` with a last key "detections": the rows as objects keyed by `fields`, written a chunk at a time."""
    encoder = DjangoJSONEncoder()
    opening = encoder.encode(head)[:-1]
    yield (opening + ", " if head else opening) + '"detections": ['
    first = True
    for chunk in _chunks(rows):
        text = ", ".join(encoder.encode(dict(zip(fields, row, strict=True))) for row in chunk)
        yield text if first else ", " + text
        first = False
    yield "]}"


async def _pulled_in_sync_thread(parts: Iterator[str]) -> AsyncIterator[bytes]:
    pull = sync_to_async(next, thread_sensitive=True)
    while (part := await pull(parts, None)) is not None:
        yield part.encode()


def download(request: HttpRequest, parts: Iterator[str], *, content_type: str, filename: str) -> StreamingHttpResponse:
    """A streamed attachment of the text `parts` (UTF-8)."""
    content = _pulled_in_sync_thread(parts) if isinstance(request, ASGIRequest) else (p.encode() for p in parts)
    response = StreamingHttpResponse(content, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
