"""The receiver under each reading of what Customer.io's docs leave open (emulators/customerio/webhooks.py):

- each retry signed anew (the emulator's default): an outage longer than the receiver's tolerance loses nothing;
- a retry that repeats its first timestamp and signature: under the default tolerance the stream stalls on a stale
  401 (what docs/realtime.md warns of); configured for it (a tolerance as long as Customer.io retries, replayed
  signatures allowed, event_id dedupe doing the work) every event lands once.

Real HTTP: the emulated sender against the receiver served by uvicorn in a thread, down for longer than the
tolerance, then up again on the same port and journal. Times are scaled down (tolerance 1 s, outage 2.5 s)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cio.landing.reader import list_partitions, read_table
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.webhooks.app import create_app
from airflow_provider_cio.webhooks.settings import ReceiverSettings
from cio_devkit.emulators.customerio.webhooks import ReportingWebhookSender, WebhookReadings

KEY = b"whsec-readings-key"
SENDER = dict(timeout_seconds=2.0, hold_seconds=0.2, first_backoff_seconds=0.1, retry_period_seconds=60)


class Served:
    def __init__(self, settings: ReceiverSettings, store: MemoryObjectStore, port: int) -> None:
        import uvicorn

        self.app = create_app(settings, store)
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning"))
        # bound here with SO_REUSEADDR (as the entry point does): the port's closed connections wait in TIME_WAIT
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.02)

    def status(self) -> dict[str, Any]:
        return self.app.state.receiver.status()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _events(n: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"r{i}",
            "object_type": "email",
            "metric": "opened",
            "timestamp": int(time.time()),
            "data": {},
        }
        for i in range(n)
    ]


def _run(
    tmp_path: Path, port: int, *, resign: bool, settle: float = 8.0, **receiver: Any
) -> tuple[ReportingWebhookSender, Served, list[str]]:
    store = MemoryObjectStore()
    options: dict[str, Any] = {"flush_interval": 0.2, "tolerance_seconds": 1.0, **receiver}
    settings = ReceiverSettings(
        signing_key=KEY, journal_dir=tmp_path / "j", env="t", workspace="w", **options
    )
    readings = WebhookReadings(**SENDER, resign_each_attempt=resign)  # type: ignore[arg-type]
    sender = ReportingWebhookSender(f"http://127.0.0.1:{port}/webhooks/customerio", KEY, readings).start()
    served = Served(settings, store, port)
    sender.send(_events(5))
    deadline = time.monotonic() + 10
    while len(sender.stats.acknowledged) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    served.stop()  # down for longer than the tolerance
    sender.send(_events(10)[5:])
    time.sleep(2.5)
    served = Served(settings, store, port)
    sender.wait_idle(settle)  # the stalled reading never gets idle: it is given a few seconds
    sender.stop()
    served.stop()
    landed = [
        event_id
        for ref in list_partitions(store, "landing", "t", "w", "webhook_events")
        for event_id in read_table(store, ref, ["event_id"]).column("event_id").to_pylist()
    ]
    return sender, served, landed


def test_signed_anew_an_outage_past_the_tolerance_loses_nothing(tmp_path: Path, port: int) -> None:
    sender, served, landed = _run(tmp_path, port, resign=True)
    assert sorted(landed) == sorted(f"r{i}" for i in range(10))
    assert served.status()["refused"]["stale"] == 0


def test_same_signature_retries_stall_under_the_default_tolerance(tmp_path: Path, port: int) -> None:
    sender, served, landed = _run(tmp_path, port, resign=False, settle=2.0)
    assert served.status()["refused"]["stale"] >= 1
    assert len(landed) < 10 and sender.stats.failures["status 401"] >= 1


def test_same_signature_retries_land_once_when_configured_for_them(tmp_path: Path, port: int) -> None:
    sender, served, landed = _run(
        tmp_path, port, resign=False, refuse_replayed_signatures=False, tolerance_seconds=3600.0
    )
    assert sorted(landed) == sorted(f"r{i}" for i in range(10)) and len(landed) == len(set(landed))
