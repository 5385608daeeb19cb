"""kill -9 the webhook receiver in the middle of a stream from the emulated Customer.io, restart it: every event it
acknowledged is landed exactly once, every event it did not acknowledge is re-sent and landed once, and nothing
personal reaches its log, its journal or the landing zone (issue 20).

The receiver is the real entry point (``python -m airflow_provider_cio.webhooks``) landing in the devstack's
Azurite; the sender is the Customer.io emulator's, with the documented hold after a refused connection scaled
from one hour down to a fraction of a second."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import date
from functools import partial
from pathlib import Path

from chaos_support import FULL, azurite_port, wait_for

from airflow_provider_cio.landing.reader import list_partitions, read_table
from airflow_provider_cio.storage.azure import AzureObjectStore
from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import blob_connection_string
from cio_devkit.emulators.customerio.webhooks import (
    ReportingWebhookSender,
    WebhookReadings,
    reporting_events,
)
from cio_devkit.emulators.synthetic import generate_workspace

KEY = "chaos-webhook-signing-key-31f7"
PATH = "/webhooks/customerio"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_receiver(
    stack: Devstack, container: str, journal: Path, port: int, log: Path
) -> subprocess.Popen[bytes]:
    url_file = journal.parent / f"receiver-{port}.url"
    url_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        "CIO_WEBHOOK_SIGNING_KEY": KEY,
        "CIO_WEBHOOK_BLOB_CONNECTION_STRING": blob_connection_string(azurite_port(stack)),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_cio.webhooks", "--port", str(port), "--container", container,
         "--journal-dir", str(journal), "--env", "chaos", "--workspace", "ws", "--flush-interval", "2",
         "--url-file", str(url_file)],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_for(
        lambda: url_file.exists() or process.poll() is not None, timeout=60, what="the receiver to listen"
    )
    assert process.poll() is None, log.read_text()[-2000:]
    return process


def _landed(store: AzureObjectStore) -> list[str]:
    ids: list[str] = []
    for ref in list_partitions(store, "landing", "chaos", "ws", "webhook_events"):
        ids.extend(read_table(store, ref, columns=["event_id"]).column("event_id").to_pylist())
    return ids


def test_kill_9_mid_stream_loses_nothing_and_lands_nothing_twice(
    devstack: Devstack, container_store: AzureObjectStore, tmp_path: Path
) -> None:
    workspace = generate_workspace(
        people=400 if FULL else 120, seed=11, start=date(2026, 10, 1), days=4 if FULL else 2
    )
    events = reporting_events(workspace)
    emails = {e for e in workspace.people["email"].to_pylist() if e}
    all_ids = [str(e["event_id"]) for e in events]
    journal, log = tmp_path / "journal", tmp_path / "receiver.log"
    port = _free_port()
    receiver = _start_receiver(devstack, container_store.container_name, journal, port, log)
    readings = WebhookReadings(timeout_seconds=4.0, hold_seconds=0.3, first_backoff_seconds=0.05, in_flight=4)
    sender = ReportingWebhookSender(f"http://127.0.0.1:{port}{PATH}", KEY.encode(), readings).start()
    kills = 3 if FULL else 1
    only_in_journal: set[str] = set()
    try:
        sender.send(events)
        for round_ in range(1, kills + 1):
            share = len(events) * round_ // (kills + 1)
            wait_for(
                partial(_acknowledged_at_least, sender, share),
                timeout=120,
                what=f"{share} events acknowledged",
            )
            receiver.send_signal(signal.SIGKILL)
            receiver.wait(timeout=10)
            acknowledged_before = set(sender.stats.acknowledged)
            # the kill caught acknowledged events that only the journal held (micro-batches land every 2 s): the
            # restart must land them from the journal, not from anything the dead process had sent
            only_in_journal.update(acknowledged_before - set(_landed(container_store)))
            failures = sum(sender.stats.failures.values())
            wait_for(
                partial(_failed_more_than, sender, failures),
                timeout=30,
                what="the sender to meet the dead receiver",
            )
            receiver = _start_receiver(devstack, container_store.container_name, journal, port, log)
            wait_for(
                partial(_all_landed, container_store, acknowledged_before),
                timeout=60,
                what="every event acknowledged before the kill to be landed",
            )
        assert sender.wait_idle(180), "the sender did not get every event acknowledged"
        wait_for(partial(_all_landed, container_store, set(all_ids)), timeout=60, what="the last micro-batch")
    finally:
        sender.stop()
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=30)

    landed = _landed(container_store)
    assert sender.stats.expired == []
    assert sorted(sender.stats.acknowledged) == sorted(set(sender.stats.acknowledged)) == sorted(all_ids)
    assert len(landed) == len(set(landed)), "an event was landed twice"
    assert sorted(landed) == sorted(all_ids)
    assert sum(sender.stats.failures.values()) >= kills  # the kills were seen and the events re-sent
    assert only_in_journal and only_in_journal <= set(landed)
    texts: dict[str, str] = {"receiver log": log.read_text(errors="replace")}
    texts.update({f"journal {p.name}": p.read_bytes().decode(errors="replace") for p in journal.glob("*")})
    leaks = [(where, e) for where, text in texts.items() for e in emails if e in str(text)]
    assert not leaks, f"raw emails found in {sorted({w for w, _ in leaks})}"
    assert KEY not in texts["receiver log"]


def _acknowledged_at_least(sender: ReportingWebhookSender, count: int) -> bool:
    return len(sender.stats.acknowledged) >= count


def _failed_more_than(sender: ReportingWebhookSender, count: int) -> bool:
    return sum(sender.stats.failures.values()) > count


def _all_landed(store: AzureObjectStore, ids: set[str]) -> bool:
    return ids <= set(_landed(store))
