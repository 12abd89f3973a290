"""The process's detection writer: batches of several connections, failures handed back or logged."""

from __future__ import annotations

import asyncio
import logging

import pytest
from django.db import OperationalError

from emotions import live_writer, services

pytestmark = pytest.mark.django_db(transaction=True)


def batch(session_id: int, faces: int = 1) -> services.FlushBatch:
    face = {"box": [1, 2, 30, 30], "emotion": "happy", "scores": dict.fromkeys(services.EMOTIONS, 1 / 7)}
    return services.FlushBatch(session_id, [services.AnalysedFrame(0, [face] * faces)], 1, 0)


async def test_a_failed_write_goes_back_to_a_waiting_caller_and_is_logged_for_a_cancelled_one(monkeypatch, caplog):
    calls = []

    def save_batches_down(batches):
        calls.append([b.session_id for b in batches])
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(services, "save_batches", save_batches_down)
    writer = live_writer.BatchWriter()
    abandoned = batch(1, faces=2)
    abandoned.abandoned = True  # as `LiveConsumer.flush` marks a batch whose caller was cancelled
    waiting = asyncio.create_task(writer.write(batch(2)))
    gone = asyncio.create_task(writer.write(abandoned))
    await asyncio.sleep(0)
    gone.cancel()
    with caplog.at_level(logging.ERROR, logger="emotions.live_writer"), pytest.raises(OperationalError):
        await asyncio.wait_for(waiting, 10)
    assert calls == [[2, 1]]  # one write carried both connections' frames
    assert "session 1: 2 answered detection(s) lost" in caplog.text
    writer.task.cancel()
