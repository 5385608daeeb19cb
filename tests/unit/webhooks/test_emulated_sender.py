"""The emulator's Reporting Webhook sender keeps Customer.io's documented behaviour: signed posts in order, a 4 s
timeout (scaled down here), a hold after the listed statuses, backoff, and a backlog behind a failing call."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_cio.webhooks.signature import Verdict, verify
from cio_devkit.emulators.customerio.webhooks import (
    ReportingWebhookSender,
    WebhookReadings,
    reporting_events,
)
from cio_devkit.emulators.synthetic import generate_workspace

KEY = b"whsec-sender-test"
FAST = WebhookReadings(
    timeout_seconds=0.3, hold_seconds=0.4, first_backoff_seconds=0.05, retry_period_seconds=30
)


class Script:
    """What the stub endpoint answers, per event id in turn (``"sleep"``: answer after the sender's timeout)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Any]] = {}
        self.seen: list[tuple[float, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            event_id = json.loads(body)["event_id"]
            with script.lock:
                script.seen.append((time.monotonic(), event_id, dict(self.headers), body))
                queued = script.answers.get(event_id) or [200]
                answer = queued.pop(0)
            if answer == "sleep":
                time.sleep(0.6)
                answer = 200
            self.send_response(int(answer))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", script
    server.shutdown()
    server.server_close()


def _events(n: int) -> list[dict[str, Any]]:
    return [
        {"event_id": f"e{i}", "object_type": "email", "metric": "sent", "timestamp": 1, "data": {}}
        for i in range(n)
    ]


def test_posts_are_signed_per_attempt_and_verify(endpoint: tuple[str, Script]) -> None:
    url, script = endpoint
    script.answers = {"e1": [500]}
    sender = ReportingWebhookSender(url, KEY, FAST).start()
    sender.send(_events(3))
    assert sender.wait_idle(10)
    sender.stop()
    assert sender.stats.acknowledged == ["e0", "e1", "e2"]
    for _, _, headers, body in script.seen:
        assert (
            verify(KEY, headers["X-CIO-Timestamp"], headers["X-CIO-Signature"], body, now=time.time())
            is Verdict.OK
        )


def test_a_listed_status_holds_and_backlogs_every_later_event(endpoint: tuple[str, Script]) -> None:
    url, script = endpoint
    script.answers = {"e1": [401, 429]}
    sender = ReportingWebhookSender(url, KEY, WebhookReadings(**{**FAST.__dict__, "in_flight": 3})).start()
    sender.send(_events(4))
    assert sender.wait_idle(10)
    sender.stop()
    order = [event_id for _, event_id, _, _ in script.seen]
    # e1 failed twice. Calls taken before its first answer were in flight beside it (three at once); once it had
    # failed, no other event started until its 2xx (the sender's own ordered log, no clock involved)
    assert order.count("e1") == 3
    log = sender.stats.log
    first_fail, acked = log.index(("fail", "e1")), log.index(("ack", "e1"))
    assert [entry for entry in log[first_fail:acked] if entry[0] == "start"] == []
    assert all(order.count(e) == 1 for e in ("e0", "e2", "e3"))
    # each retry after a listed status waits the documented hold at least (the backoff, when longer)
    assert sender.stats.delays == [("e1", FAST.hold_seconds), ("e1", FAST.hold_seconds)]
    assert sorted(sender.stats.acknowledged) == ["e0", "e1", "e2", "e3"]
    assert sender.stats.failures == {"status 401": 1, "status 429": 1}


def test_a_slow_answer_is_a_timeout_and_is_sent_again(endpoint: tuple[str, Script]) -> None:
    url, script = endpoint
    script.answers = {"e0": ["sleep"]}
    sender = ReportingWebhookSender(url, KEY, FAST).start()
    sender.send(_events(2))
    assert sender.wait_idle(10)
    sender.stop()
    assert [event_id for _, event_id, _, _ in script.seen] == ["e0", "e0", "e1"]
    assert sender.stats.failures == {"timeout": 1}
    assert sender.stats.delays == [
        ("e0", FAST.first_backoff_seconds)
    ]  # a timeout backs off, no one-hour hold


def test_an_event_past_the_retry_period_expires_and_the_backlog_moves_on(
    endpoint: tuple[str, Script],
) -> None:
    url, script = endpoint
    script.answers = {"e0": [503] * 50}
    readings = WebhookReadings(
        timeout_seconds=0.3, hold_seconds=0.05, first_backoff_seconds=0.05, retry_period_seconds=0.3
    )
    sender = ReportingWebhookSender(url, KEY, readings).start()
    sender.send(_events(1))
    assert sender.wait_idle(10)
    sender.send(_events(2)[1:])
    assert sender.wait_idle(10)
    sender.stop()
    assert sender.stats.expired == ["e0"] and sender.stats.acknowledged == ["e1"]


def test_the_workspace_activity_becomes_reporting_events() -> None:
    workspace = generate_workspace(people=50, seed=3, start=date(2026, 10, 1), days=2)
    events = reporting_events(workspace)
    assert len(events) == workspace.metrics.num_rows
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    clicked = next(e for e in events if e["metric"] == "clicked")
    assert clicked["data"]["href"].startswith("http")
    assert (
        "@" in clicked["data"]["identifiers"]["email"]
    )  # sent as Customer.io sends it: the receiver drops it


def test_the_emulator_posts_its_workspace_activity_on_request(endpoint: tuple[str, Script]) -> None:
    import urllib.request

    from cio_devkit.emulators.customerio import CustomerIoEmulator

    url, script = endpoint
    workspace = generate_workspace(people=20, seed=5, start=date(2026, 10, 1), days=1)
    with CustomerIoEmulator(workspace, "key") as emulator:
        spec = {"url": url, "signing_key": KEY.decode(), "readings": {"in_flight": 2, "timeout_seconds": 1}}
        request = urllib.request.Request(
            emulator.url + "/_admin/webhooks", data=json.dumps(spec).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            queued = json.loads(answer.read())["queued"]
        assert queued == workspace.metrics.num_rows > 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with urllib.request.urlopen(emulator.url + "/_admin/webhooks", timeout=5) as answer:
                [status] = json.loads(answer.read())["senders"]
            if status["idle"]:
                break
            time.sleep(0.05)
    assert status["acknowledged"] == queued
    assert sorted({event_id for _, event_id, _, _ in script.seen}) == sorted(
        workspace.metrics["event_id"].to_pylist()
    )


def test_the_emulator_process_posts_webhooks_from_its_command_line(endpoint: tuple[str, Script]) -> None:
    import os
    import subprocess
    import sys

    url, script = endpoint
    env = {**os.environ, "CIO_EMULATOR_WEBHOOK_SIGNING_KEY": KEY.decode()}
    command = [sys.executable, "-m", "cio_devkit.emulators.customerio", "--port", "0", "--people", "15",
               "--days", "1", "--start", "2026-10-01", "--webhook-url", url, "--webhook-in-flight", "2"]  # fmt: skip
    expected = reporting_events(generate_workspace(people=15, seed=7, start=date(2026, 10, 1), days=1))
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len({event_id for _, event_id, _, _ in script.seen}) < len(expected):
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the emulator did not post every event"
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert {event_id for _, event_id, _, _ in script.seen} == {e["event_id"] for e in expected}
    _, _, headers, body = script.seen[0]
    assert (
        verify(KEY, headers["X-CIO-Timestamp"], headers["X-CIO-Signature"], body, now=time.time())
        is Verdict.OK
    )
