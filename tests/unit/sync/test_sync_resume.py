"""Crash-resume, idempotent re-runs and retries, asserted on the emulator's request log."""

from __future__ import annotations

import logging

import pytest
from meta_sync_support import TOKEN, make_members, raw_email, raw_phone
from sync_request_support import sync_with

from airflow_provider_cio.sync import (
    ConfigurationError,
    Guardrails,
    PlatformError,
    RetryPolicy,
    SyncMode,
    SyncRequest,
    SyncRuntime,
)

NAME = "lapsed vips"
GUARDS = Guardrails(min_size=10)
# What these tests hold fixed; a call passes its members and what it is about (mode, retry policy, sleep, ...).
sync = sync_with(
    SyncRequest(audience_name=NAME, members=(), mode=SyncMode.MIRROR, guards=GUARDS, quality_passed=True)
)


class Crash(RuntimeError):
    """A worker dying mid-run (raised from the after-batch hook, after the ledger write)."""


def crash_after(k: int, operation: str = "add"):
    def hook(op: str, seq: int, total: int) -> None:
        if op == operation and seq == k:
            raise Crash(f"worker lost after {op} batch {seq}/{total}")

    return hook


@pytest.mark.parametrize("mode", ["mirror", "replace"])
def test_crash_after_batch_k_then_retry_resumes_without_resending(emulator, destination, store, mode):
    sync(destination, store, members=make_members(range(300)), mode="mirror")
    target = make_members(range(150, 800))  # 150 removes, 500 adds (mirror); 650 rows (replace)
    op = "add" if mode == "mirror" else "replace"
    before = len(emulator.edit_requests())
    with pytest.raises(Crash):
        sync(
            destination,
            store,
            members=target,
            mode=mode,
            runtime=SyncRuntime(
                after_batch=crash_after(3, op),
                retry=RetryPolicy(max_attempts=2),
            ),
        )
    report = sync(destination, store, members=target, mode=mode)
    # 3 add (mirror: adds run before removals) or replace batches were acknowledged before the crash
    assert report.batches_skipped == 3
    edits = emulator.edit_requests()[before:]
    keys = [(r["session_id"], r["batch_seq"]) for r in edits]
    assert len(keys) == len(set(keys)), "a batch was sent twice"
    assert len({r["payload_digest"] for r in edits}) == len(edits)
    assert sum(r["rows"] for r in edits) == 650  # 150 removes + 500 adds, or 650 replace rows: each row once
    assert all(r["status"] == 200 for r in emulator.requests[before:] if r.get("operation"))
    members = emulator.audience_members(report.audience_id)
    assert set(members) == {f"x:cust-{i:06d}" for i in range(150, 800)}


def test_finished_run_rerun_for_the_same_snapshot_is_a_no_op(emulator, destination, store):
    members = make_members(range(200))
    sync(destination, store, members=members)
    before = len(emulator.requests)
    again = sync(destination, store, members=list(reversed(members)))
    assert again.status == "already_synced" and again.rows_sent == 0
    assert len(emulator.requests) == before


def test_throttled_mid_run_waits_the_platform_hint_then_succeeds(emulator, destination, store, sleeps):
    emulator.inject("throttle", times=2, minutes=2)
    report = sync(destination, store, members=make_members(range(300)), runtime=SyncRuntime(sleep=sleeps))
    assert sleeps == [120.0, 120.0]
    assert report.retries == 2 and report.requests == 5 and report.batches_sent == 3
    throttled = [r for r in emulator.requests if r.get("error_code") == 80003]
    assert len(throttled) == 2
    assert len(emulator.audience_members(report.audience_id)) == 300


def test_transient_5xx_is_retried_with_backoff(emulator, destination, store, sleeps):
    emulator.inject("transient", times=1, status=503)
    report = sync(
        destination,
        store,
        members=make_members(range(150)),
        runtime=SyncRuntime(sleep=sleeps, retry=RetryPolicy(base_delay=3.0)),
    )
    assert sleeps == [3.0] and report.retries == 1
    assert len(emulator.audience_members(report.audience_id)) == 150


def test_hint_longer_than_max_wait_gives_the_slot_back(emulator, destination, store, sleeps):
    emulator.inject("throttle", times=1, minutes=60)
    with pytest.raises(PlatformError) as info:
        sync(
            destination,
            store,
            members=make_members(range(150)),
            runtime=SyncRuntime(
                sleep=sleeps,
                retry=RetryPolicy(max_wait=900),
            ),
        )
    assert info.value.retry_after == 3600.0 and sleeps == []


def test_invalid_token_fails_at_once_without_retries(emulator, make_destination, store, sleeps):
    bad = make_destination(token="expired-token")
    with pytest.raises(ConfigurationError) as info:
        sync(bad, store, members=make_members(range(150)), runtime=SyncRuntime(sleep=sleeps))
    assert "token owner must re-issue the access token" in str(info.value)
    assert sleeps == [] and len(emulator.requests) == 1 and emulator.requests[0]["error_code"] == 190
    assert "expired-token" not in str(info.value)


def test_token_revoked_mid_run_is_a_configuration_error(emulator, destination, store, sleeps):
    emulator.inject("invalid_token", times=1)
    with pytest.raises(ConfigurationError):
        sync(destination, store, members=make_members(range(150)), runtime=SyncRuntime(sleep=sleeps))
    assert sleeps == [] and len(emulator.edit_requests(ok_only=False)) == 1


def test_logs_and_report_never_show_raw_identifiers_or_token(emulator, destination, store, caplog, sleeps):
    emulator.inject("throttle", times=1, minutes=1)
    with caplog.at_level(logging.DEBUG):
        report = sync(destination, store, members=make_members(range(150)), runtime=SyncRuntime(sleep=sleeps))
        sync(
            destination,
            store,
            members=make_members(range(60, 150)),
            guards=Guardrails(min_size=10, allow_shrink=True),
            runtime=SyncRuntime(
                sleep=sleeps,
            ),
        )
    text = (
        "\n".join(r.getMessage() for r in caplog.records) + repr(report.to_dict()) + repr(emulator.requests)
    )
    for i in range(150):
        assert raw_email(i) not in text and raw_phone(i) not in text
    assert TOKEN not in text
    assert caplog.records, "expected the sync to log something"
