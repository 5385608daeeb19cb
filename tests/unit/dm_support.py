"""A Data Manager emulator on a fake clock, and our destination on the same clock, for the Data Manager tests.

Google processes requests minutes to hours after accepting them; the emulator does too, on its clock. The
destination's ``sleep`` moves that clock, so a test waits "hours" without waiting and nothing depends on timing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import grpc
from google_support import CUSTOMER

from airflow_provider_cio.destinations.google.datamanager import (
    DataManagerDestination,
    build_ingestion_client,
)
from airflow_provider_cio.sync.destination import BatchResult, Member, Operation
from cio_devkit.emulators.google.server import GoogleEmulator


class Clock:
    """Nanoseconds for the emulator, datetimes for the destination, and a ``sleep`` that moves both."""

    def __init__(self) -> None:
        self.ns = time.time_ns()
        self.sleeps: list[float] = []

    def __call__(self) -> int:
        return self.ns

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.ns += int(seconds * 1e9)

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.ns / 1e9, dt.UTC)


def destination(
    emulator: GoogleEmulator, clock: Clock, list_id: int, **kwargs: Any
) -> DataManagerDestination:
    """Our destination through the real IngestionServiceClient over TLS to ``emulator``."""
    assert emulator.cert_path is not None
    channel = grpc.secure_channel(
        emulator.target, grpc.ssl_channel_credentials(root_certificates=emulator.cert_path.read_bytes())
    )
    kwargs.setdefault("user_list_ids", {"vip": str(list_id)})
    kwargs.setdefault("sleep", clock.sleep)
    kwargs.setdefault("now", clock.now)
    return DataManagerDestination(
        build_ingestion_client(channel=channel), operating_account_id=CUSTOMER, **kwargs
    )


def open_and_send(
    dest: Any, audience: str, operation: Operation, members: Sequence[Member], size: int
) -> tuple[str, Any, list[BatchResult]]:
    """Open a session and send ``members`` in batches of ``size`` (seq from 1), as the sync core does."""
    audience_id = dest.ensure_audience(audience)
    session = dest.open_session(audience_id, operation, total_members=len(members))
    chunks = [members[i : i + size] for i in range(0, len(members), size)]
    results = [
        dest.send_batch(audience_id, session, chunk, seq=n, last=n == len(chunks))
        for n, chunk in enumerate(chunks, start=1)
    ]
    return audience_id, session, results


def sync(
    dest: Any, audience: str, operation: Operation, members: Sequence[Member], size: int
) -> tuple[list[BatchResult], dict[str, Any]]:
    """The minimal driver loop: open, send chunks, close."""
    audience_id, session, results = open_and_send(dest, audience, operation, members, size)
    return results, dest.close_session(audience_id, session)
