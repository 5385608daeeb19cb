"""Our Data Manager destination (through ``run_sync``) under every reading the emulator can take of what Google's
docs leave open: a denied consent fails the whole request or only the member; a member without consent fields is
processed or not (EEA); ``terms_of_service`` is required or optional.

Whatever the reading, the list ends as the snapshot's members with ad consent, members without consent are never
sent, a member who stays is never removed, and a replace never empties the list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from airflow_provider_cio.destinations.google.datamanager import (
    DataManagerDestination,
    build_ingestion_client,
)
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Guardrails, SyncMode, SyncRequest, SyncRuntime, run_sync
from airflow_provider_cio.sync.destination import Member
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings

ACCOUNT = "1234567890"
READINGS = [
    (denied, missing, terms)
    for denied in ("fail_request", "skip_member")
    for missing in ("not_processed", "processed")
    for terms in (True, False)
]


class HandClock:
    def __init__(self) -> None:
        self.ns = time.time_ns()

    def __call__(self) -> int:
        return self.ns

    def sleep(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.ns / 1e9, dt.UTC)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def person(i: int, *, email: str | None = None, consent: bool = True) -> Member:
    return Member(
        f"c{i:03d}",
        {"email": (sha(email or f"user{i}@example.com"),), "phone": (sha(f"+1650555{i:04d}"),)},
        consent=consent,
    )


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
def emulator(clock: HandClock) -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(tls=True, settings=EmulatorSettings(dm_processing_seconds=2 * 3600), clock_ns=clock)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def phones(emulator: GoogleEmulator, list_id: int) -> set[str]:
    return {k for m in emulator.members(ACCOUNT, list_id) for k in m if k.startswith("phone:")}


def expected(members: list[Member]) -> set[str]:
    return {"phone:" + m.identifiers["phone"][0] for m in members if m.consent}


@pytest.mark.parametrize(("denied", "missing", "terms"), READINGS)
def test_the_list_ends_as_the_consented_snapshot_under_every_reading(
    emulator: GoogleEmulator, clock: HandClock, denied: str, missing: str, terms: bool
) -> None:
    emulator.settings.dm_denied_consent = denied
    emulator.settings.dm_missing_consent = missing
    emulator.settings.dm_require_terms_of_service = terms
    list_id = emulator.create_user_list(ACCOUNT, "vip")
    assert emulator.cert_path is not None
    channel = grpc.secure_channel(
        emulator.target, grpc.ssl_channel_credentials(root_certificates=emulator.cert_path.read_bytes())
    )
    dest = DataManagerDestination(
        build_ingestion_client(channel=channel),
        operating_account_id=ACCOUNT,
        user_list_ids={"vip": str(list_id)},
        sleep=clock.sleep,
        now=clock.now,
    )
    dest.max_batch_size = 7
    store = MemoryObjectStore()
    guards = Guardrails(min_size=5, allow_shrink=True)

    def sync(members: list[Member], mode: str = "mirror") -> Any:
        report = run_sync(
            dest,
            store,
            SyncRequest(
                audience_name="vip", members=members, mode=SyncMode(mode), guards=guards, quality_passed=True
            ),
            runtime=SyncRuntime(sleep=clock.sleep, now=clock.now),
        )
        clock.sleep(3600)
        return report

    first = [person(i, consent=i % 5 != 0) for i in range(30)]
    sync(first)
    assert phones(emulator, list_id) == expected(first)

    # departures, arrivals, a consent withdrawn, a consent given, an email changed (phone kept)
    second = [person(i, consent=i % 5 != 0) for i in range(10, 40)]
    second[1] = person(11, consent=False)
    second[5] = person(15, consent=True)
    second[2] = person(12, email="moved@example.com")
    sync(second)
    present = phones(emulator, list_id)
    assert expected(second) <= present  # everyone with consent is in; the moved member stays
    assert "phone:" + sha("+16505550012") in present
    assert "phone:" + sha("+16505550011") not in present  # consent withdrawn: out of the list

    third = [person(i) for i in range(20, 50)]
    sync(third, mode="replace")
    assert phones(emulator, list_id) == expected(third)
    history = emulator.size_history(ACCOUNT, list_id)
    assert 0 not in history[1:]  # never empty once filled
    sent = emulator.calls("IngestAudienceMembers")
    assert sum(call.summary["consent_denied"] for call in sent) == 0
