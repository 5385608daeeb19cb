"""Customer Match memberships lapse (issue 15, defect 3): months of daily syncs of a mostly unchanged audience.

``run_sync`` drives the Google Ads destination through the real ``google-ads`` client against the emulator, whose
clock the test moves by whole days between runs (the runner's ``now`` reads the same clock). Memberships last the
list's life span since their latest upload; unchanged members are re-sent once ``refresh_after_days`` old; some jobs
fail after being accepted. After every run: the list is exactly the snapshot, or the run failed loudly
(``MembersNotApplied``) and the next run repairs it; every member the synced state holds is on the list (nothing
is recorded synced that is not). Fast form in ``make test``; ``CIO_CHAOS=full`` runs longer on a larger audience.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from airflow_provider_cio.destinations.google.ads import GoogleAdsDestination, build_ads_client
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Guardrails, Member, SyncRequest, SyncRuntime, run_sync
from airflow_provider_cio.sync.errors import MembersNotApplied
from airflow_provider_cio.sync.runner import ledger_prefix
from airflow_provider_cio.sync.state import StateStore
from cio_devkit.emulators.google.server import GoogleEmulator

CUSTOMER = "1234567890"
NAME = "cio/chaos/acme/lapse"
LIFE_SPAN = 30


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def person(i: int) -> Member:
    return Member(f"cust-{i:06d}", {"email": (sha(f"lapse{i}@example.com"),)})


def email_key(member: Member) -> str:
    return "email:" + member.identifiers["email"][0]


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(tls=True).start()
    emu.trust()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.mark.parametrize("refresh", [None, 3])  # the default (a third of the life span) and an explicit one
def test_months_of_syncs_keep_the_list_equal_to_the_snapshot(google: GoogleEmulator, full, refresh) -> None:  # type: ignore[no-untyped-def]
    from google.auth.credentials import AnonymousCredentials

    rng = random.Random(f"google-lapse-{refresh}")
    days, size = (200, 2_000) if full else (75, 120)
    client = build_ads_client(developer_token="t", credentials=AnonymousCredentials(), endpoint=google.target)
    destination = GoogleAdsDestination(
        client,
        customer_id=CUSTOMER,
        membership_life_span_days=LIFE_SPAN,
        refresh_after_days=refresh,
        identifiers_per_request=max(10, size // 4),
        sleep=lambda _s: None,
    )
    store = MemoryObjectStore()
    states = StateStore(store, ledger_prefix("ledger", "google", NAME))

    def now() -> datetime:
        return datetime.fromtimestamp(google.core.state.clock_ns() / 1e9, UTC)

    ids = set(range(size))
    next_id = size
    day = failures = repairs = resent = 0
    failed_before = False
    while day < days:
        if rng.random() < 0.2:  # mostly the same audience: exactly what let memberships lapse before
            for i in rng.sample(sorted(ids), k=size // 20):
                ids.discard(i)
            ids.update(range(next_id, next_id + size // 20))
            next_id += size // 20
        snapshot = [person(i) for i in sorted(ids)]
        if rng.random() < 0.15:
            google.inject("job_failed", reason="UNKNOWN")  # accepted, then FAILED
        try:
            report = run_sync(
                destination,
                store,
                SyncRequest(
                    audience_name=NAME,
                    members=snapshot,
                    mode="mirror",
                    guards=Guardrails(min_size=1, max_shrink=1.0),
                    quality_passed=True,
                ),
                runtime=SyncRuntime(
                    now=now,
                    sleep=lambda _s: None,
                ),
            )
        except MembersNotApplied:
            failures += 1
            failed_before = True
        else:
            list_id = int(report.audience_id or 0)
            held = {key for keys in google.members(CUSTOMER, list_id) for key in keys}
            assert held == {email_key(m) for m in snapshot}, f"day {day}: the list is not the snapshot"
            resent += int(report.plan.get("refreshed_members", 0))
            repairs += failed_before
            failed_before = False
        google.clear_faults()
        info = states.load()
        if info is not None:  # whatever the state records as synced is on the list
            held = {key for keys in google.members(CUSTOMER, int(info.audience_id)) for key in keys}
            recorded = {email_key(line.to_member()) for line in states.iter_lines(info)}
            assert recorded <= held, (
                f"day {day}: {len(recorded - held)} members recorded synced, not on the list"
            )
        step = 1 if failed_before else rng.randint(1, 4)  # daily-ish runs; a failed run is retried next day
        google.advance(days=step)
        day += step
    assert day >= LIFE_SPAN * 2  # long enough that every first upload would have lapsed twice without refresh
    assert failures and repairs  # the fault rounds happened and were repaired
    assert (
        resent
    )  # unchanged members were re-sent (without that, this test fails: a negative control was run)
