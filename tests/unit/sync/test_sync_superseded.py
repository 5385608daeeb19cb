"""A live audience never goes back in time: a snapshot older than the synced one is skipped, unless asked for.

Backfilling ``cio_audiences`` over last month, or the daily DAG running after the hourly cart DAG synced fresher
data, must not mirror old membership into the live audience (and then flap back on the next fresh run).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meta_sync_support import make_members
from sync_request_support import sync_with

from airflow_provider_cio.sync import Guardrails, SyncRequest, run_sync
from airflow_provider_cio.sync.runner import ledger_prefix
from airflow_provider_cio.sync.state import StateStore

NAME = "carts"
DAY = datetime(2026, 11, 2, tzinfo=UTC)
sync = sync_with(
    SyncRequest(audience_name=NAME, members=(), guards=Guardrails(min_size=10), quality_passed=True)
)


def live(emulator, report) -> int:  # type: ignore[no-untyped-def]
    return len(emulator.audience_members(report.audience_id))


def test_an_older_snapshot_is_skipped_and_sends_nothing(emulator, destination, store):
    fresh = sync(destination, store, members=make_members(range(150)), as_of=DAY + timedelta(hours=6))
    requests = len(emulator.requests)

    old = sync(
        destination, store, members=make_members(range(100)), as_of=DAY
    )  # the daily run, or a backfill

    assert old.status == "superseded" and old.rows_sent == 0
    assert old.plan["synced_as_of"] == "2026-11-02T06:00:00+00:00"
    assert len(emulator.requests) == requests  # not even a lookup
    assert live(emulator, fresh) == 150
    state = StateStore(store, ledger_prefix("ledger", destination.platform, NAME)).load()
    assert (
        state is not None and state.snapshot_id == fresh.snapshot_id
    )  # the state still describes the live one


def test_a_newer_snapshot_goes_through(emulator, destination, store):
    sync(destination, store, members=make_members(range(150)), as_of=DAY)
    later = sync(destination, store, members=make_members(range(20, 160)), as_of=DAY + timedelta(hours=1))
    assert later.status == "synced" and later.plan["removes"] == 20 and later.plan["adds"] == 10
    assert live(emulator, later) == 140


def test_allow_older_rolls_back_on_purpose(emulator, destination, store):
    sync(destination, store, members=make_members(range(150)), as_of=DAY + timedelta(days=1))
    back = run_sync(
        destination,
        store,
        SyncRequest(
            audience_name=NAME,
            members=make_members(range(130)),
            guards=Guardrails(min_size=10, allow_older=True),
            quality_passed=True,
            as_of=DAY,
        ),
    )
    assert back.status == "synced" and back.plan["removes"] == 20
    assert live(emulator, back) == 130


def test_without_a_data_time_the_order_is_not_judged(emulator, destination, store):
    """States written before ``as_of`` existed, and callers that do not pass one, sync as before."""
    sync(destination, store, members=make_members(range(150)))
    report = sync(destination, store, members=make_members(range(120)), as_of=DAY)
    assert report.status == "synced" and live(emulator, report) == 120
