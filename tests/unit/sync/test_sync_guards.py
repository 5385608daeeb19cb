"""Guardrails block before anything is sent, name themselves and their override; overrides work and are logged."""

from __future__ import annotations

import logging

import pytest
from meta_sync_support import make_members
from sync_request_support import sync_with

from airflow_provider_cio.sync import GuardrailBlocked, Guardrails, SyncMode, SyncRequest

NAME = "winback"
# What these tests hold fixed; a call passes its members and the guards it is about (else run_sync's defaults).
sync = sync_with(SyncRequest(audience_name=NAME, members=(), mode=SyncMode.MIRROR, quality_passed=True))


def seed(destination, store, n: int = 200):
    return sync(destination, store, members=make_members(range(n)), guards=Guardrails(min_size=10))


@pytest.mark.parametrize("mode", ["upsert", "mirror", "replace"])
def test_empty_snapshot_never_wipes_an_audience(emulator, destination, store, mode):
    report = seed(destination, store)
    before = len(emulator.requests)
    with pytest.raises(GuardrailBlocked) as info:
        sync(destination, store, members=[], mode=mode, guards=Guardrails(min_size=10, allow_shrink=True))
    assert info.value.guard == "empty_snapshot" and "allow_empty=True" in str(info.value)
    assert len(emulator.requests) == before
    assert len(emulator.audience_members(report.audience_id)) == 200


def test_allow_empty_override_wipes_and_is_logged(emulator, destination, store, caplog):
    report = seed(destination, store)
    with caplog.at_level(logging.WARNING):
        sync(
            destination,
            store,
            members=[],
            guards=Guardrails(min_size=10, allow_empty=True, allow_shrink=True),
        )
    assert emulator.audience_members(report.audience_id) == {}
    assert any(
        "empty_snapshot" in r.getMessage() and "allow_empty=True" in r.getMessage() for r in caplog.records
    )


def test_ninety_percent_shrink_is_blocked_then_allowed(emulator, destination, store, caplog):
    report = seed(destination, store)
    before = len(emulator.requests)
    with pytest.raises(GuardrailBlocked) as info:
        sync(destination, store, members=make_members(range(20)), guards=Guardrails(min_size=10))
    assert (
        info.value.guard == "max_shrink"
        and "90.0%" in str(info.value)
        and "allow_shrink=True" in str(info.value)
    )
    assert len(emulator.requests) == before
    with caplog.at_level(logging.WARNING):
        sync(
            destination,
            store,
            members=make_members(range(20)),
            guards=Guardrails(min_size=10, allow_shrink=True),
        )
    assert len(emulator.audience_members(report.audience_id)) == 20
    assert any("max_shrink" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_min_size_blocks_small_audiences_and_override_is_logged(emulator, destination, store, caplog):
    with pytest.raises(GuardrailBlocked) as info:  # run_sync's default guards
        sync(destination, store, members=make_members(range(40)))
    assert info.value.guard == "min_size" and "min_size_override" in str(info.value)
    assert emulator.requests == []
    with pytest.raises(GuardrailBlocked):  # an override above the size does not help
        sync(destination, store, members=make_members(range(40)), guards=Guardrails(min_size_override=50))
    with caplog.at_level(logging.WARNING):
        report = sync(
            destination, store, members=make_members(range(40)), guards=Guardrails(min_size_override=40)
        )
    assert report.overrides_used == ["min_size"] and len(emulator.audience_members(report.audience_id)) == 40
    assert any("min_size" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.mark.parametrize(("verdict", "word"), [(None, "missing"), (False, "failed")])
def test_missing_or_failed_quality_verdict_blocks(emulator, destination, store, caplog, verdict, word):
    with pytest.raises(GuardrailBlocked) as info:
        sync(destination, store, members=make_members(range(200)), quality_passed=verdict)
    assert info.value.guard == "quality_verdict" and word in str(info.value)
    assert "ignore_quality_verdict=True" in str(info.value)
    assert emulator.requests == []
    with caplog.at_level(logging.WARNING):
        report = sync(
            destination,
            store,
            members=make_members(range(200)),
            quality_passed=verdict,
            guards=Guardrails(ignore_quality_verdict=True),
        )
    assert report.overrides_used == ["quality_verdict"] and report.rows_sent == 200
    assert any("quality_verdict" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_dry_run_sends_nothing_and_writes_only_the_plan(emulator, destination, store):
    seed(destination, store)
    requests_before = len(emulator.requests)
    objects_before = set(store.list(""))
    report = sync(
        destination,
        store,
        members=make_members(range(30, 230)),
        quality_passed=None,
        dry_run=True,
        guards=Guardrails(min_size=10),
    )
    assert report.status == "dry_run" and report.plan["adds"] == 30 and report.plan["removes"] == 30
    assert [g["guard"] for g in report.guards if g["blocked"]] == ["quality_verdict"]
    assert len(emulator.requests) == requests_before
    written = set(store.list("")) - objects_before
    assert len(written) == 1 and next(iter(written)).endswith("/plan.json")
