"""`manage.py loadtest_ws` against the live server, and the pieces of its client."""

from __future__ import annotations

import json
import os

import pytest
from django.core.management import CommandError, call_command

from bench import loadtest
from emotions.models import CaptureSession

pytestmark = pytest.mark.django_db(transaction=True)


def test_short_load_test_against_the_live_server(live_url, recognition_model, tmp_path, capsys):
    out = tmp_path / "load.json"
    call_command("loadtest_ws", "--url", live_url, "--clients", "2", "--fps", "4", "--seconds", "2",
                 "--json", str(out), "--user-prefix", "load", "--p95-bar-ms", "100000")
    summary = json.loads(out.read_text())

    assert summary["clients"] == 2
    assert summary["errors"] == 0, summary["failures"]
    assert summary["results"] >= 4
    assert summary["faces"] == summary["results"]  # one face in every frame
    assert summary["frames_sent"] == summary["results"] + summary["dropped"]
    assert summary["achieved_fps_total"] > 0
    latency = summary["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert summary["server"]["pid"] == os.getpid()  # found by its port: the server runs in this process
    assert summary["server"]["rss_before_mb"] > 0 and summary["server"]["rss_after_mb"] > 0
    printed = capsys.readouterr().out
    assert "round trip ms: p50" in printed
    # A bar no test machine misses: the verdict follows the run's figures (errors, drops, p95).
    assert summary["p95_bar_ms"] == 100000
    assert summary["meets_bar"] == (summary["dropped"] == 0)
    assert ("meets the bar" in printed) == summary["meets_bar"]

    sessions = CaptureSession.objects.filter(user__username__startswith="load-")
    assert sessions.count() == 2
    assert all(s.ended_at is not None and s.frames_processed > 0 for s in sessions)
    assert {s.client_info["user_agent"] for s in sessions} == {loadtest.USER_AGENT}


def test_wrong_password_is_reported(live_url):
    with pytest.raises(CommandError, match="login refused"):
        call_command("loadtest_ws", "--url", live_url, "--clients", "1", "--seconds", "1",
                     "--no-create-users", "--user-prefix", "nobody", "--password", "wrong")


def test_arguments_are_checked():
    with pytest.raises(CommandError, match="positive"):
        call_command("loadtest_ws", "--url", "http://127.0.0.1:1", "--clients", "0")
    with pytest.raises(CommandError, match="needs --password"):
        call_command("loadtest_ws", "--url", "http://127.0.0.1:1", "--no-create-users")


def test_percentile_and_websocket_url():
    assert loadtest.percentile([], 0.5) is None
    assert loadtest.percentile([3, 1, 2, 4], 0.5) == 2
    assert loadtest.percentile(list(range(1, 101)), 0.95) == 95
    assert loadtest.websocket_url("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/ws/live/"
    with pytest.raises(loadtest.LoadTestError):
        loadtest.websocket_url("ftp://example.com")


def test_masking_is_its_own_inverse():
    payload = bytes(range(256)) * 3 + b"tail"
    mask = b"\x01\x02\x03\x04"
    masked = loadtest.mask_bytes(payload, mask)
    assert masked != payload
    assert loadtest.mask_bytes(masked, mask) == payload


@pytest.mark.parametrize(("errors", "dropped", "p95", "meets"), [
    (0, 0, 40.0, True), (0, 0, 100.0, True), (0, 0, 100.1, False), (1, 0, 40.0, False), (0, 3, 40.0, False),
    (0, 0, None, False),  # no answer at all
])
def test_the_verdict_needs_every_part_of_the_bar(errors, dropped, p95, meets):
    summary = {"errors": errors, "dropped": dropped, "latency_ms": {"p95": p95}}
    assert loadtest.meets_bar(summary, 100) is meets
