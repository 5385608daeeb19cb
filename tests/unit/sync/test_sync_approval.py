"""On-call's approval of a guarded sync: the figures shown, the one plan it lets through, and its trace.

Driven through the real Meta destination against the Graph API emulator (tests/unit/conftest.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from meta_sync_support import make_members, raw_email
from sync_request_support import sync_with

from airflow_provider_cio.sync import GuardrailBlocked, Guardrails, SyncRequest, run_sync
from airflow_provider_cio.sync.approval import (
    ApprovedOverride,
    GuardFigures,
    apply_approval,
    approve,
    guard_figures,
)
from airflow_provider_cio.sync.guards import GuardVerdict

NAME = "cio/dev/acme/carts"
sync = sync_with(
    SyncRequest(audience_name=NAME, members=(), guards=Guardrails(min_size=10), quality_passed=True)
)


def shrunk_plan(destination, store):  # type: ignore[no-untyped-def]
    """1,000 members synced, then a snapshot of 100: a 90% shrink, planned dry as the guard check does."""
    sync(destination, store, members=make_members(range(1000)))
    dry = sync(destination, store, members=make_members(range(100)), dry_run=True)
    return guard_figures(dry.to_dict(), audience="carts", recent_sizes={"dt=2026-11-01": 1000})


def test_a_90_percent_shrink_asks_with_its_figures_and_no_member(emulator, destination, store):
    figures = shrunk_plan(destination, store)

    assert figures.needs_approval and set(figures.blocked) == {"max_shrink"}
    assert (figures.previous_size, figures.expected_size) == (1000, 100)
    assert (figures.adds, figures.removes, figures.shrink_ratio) == (0, 900, 0.9)
    body = figures.body(runbook="https://docs.example/runbook.md#answering-an-approval")
    for shown in ("1,000", "100", "900", "90.0%", "max_shrink", "dt=2026-11-01", NAME):
        assert shown in body
    assert "cust-" not in body and raw_email(5) not in body and "@" not in body


def test_an_approval_lets_exactly_that_plan_through_and_is_recorded(emulator, destination, store):
    figures = shrunk_plan(destination, store)
    approval = approve(figures, approved_by="oncall", approved_at="2026-11-02T08:00:00+00:00")

    report = sync(destination, store, members=make_members(range(100)), approval=approval)

    assert report.status == "synced" and report.overrides_used == ["max_shrink"]
    assert len(emulator.audience_members(report.audience_id)) == 100
    assert report.approval is not None and report.approval["approved_by"] == "oncall"
    assert report.approval["figures"]["expected_size"] == 100
    done = [k for k in store.list("ledger/") if k.endswith("done.json") and report.run_id in k]
    assert len(done) == 1
    recorded = json.loads(store.read_bytes(done[0]))
    assert recorded["approval"]["approved_by"] == "oncall" and recorded["approval"]["guards"] == [
        "max_shrink"
    ]
    plan = [k for k in store.list("ledger/") if k.endswith("plan.json") and report.run_id in k]
    assert json.loads(store.read_bytes(plan[0]))["approval"]["approved_at"] == "2026-11-02T08:00:00+00:00"


def test_an_approval_does_not_cover_a_plan_that_changed_since(emulator, destination, store):
    figures = shrunk_plan(destination, store)
    approval = approve(figures, approved_by="oncall", approved_at="2026-11-02T08:00:00+00:00")
    requests = len(emulator.requests)

    with pytest.raises(GuardrailBlocked) as blocked:  # the snapshot was rebuilt after on-call looked
        sync(destination, store, members=make_members(range(50)), approval=approval)

    assert blocked.value.guard == "approval" and "oncall" in str(blocked.value)
    assert len(emulator.requests) == requests  # nothing sent, not even a lookup


def test_a_guard_the_approval_does_not_name_still_blocks(emulator, destination, store):
    figures = shrunk_plan(destination, store)
    approval = approve(figures, approved_by="oncall", approved_at="2026-11-02T08:00:00+00:00")
    with pytest.raises(GuardrailBlocked) as blocked:  # the quality verdict went missing after the approval
        run_sync(
            destination,
            store,
            SyncRequest(
                audience_name=NAME,
                members=make_members(range(100)),
                guards=Guardrails(min_size=10),
                quality_passed=None,
                approval=approval,
            ),
        )
    assert blocked.value.guard == "quality_verdict"


def test_a_plan_no_guard_blocks_asks_nothing(emulator, destination, store):
    sync(destination, store, members=make_members(range(1000)))
    dry = sync(destination, store, members=make_members(range(950)), dry_run=True)
    assert not guard_figures(dry.to_dict(), audience="carts").needs_approval


GUARDS = ("quality_verdict", "empty_snapshot", "max_shrink", "min_size")


@settings(max_examples=200, deadline=None)
@given(
    tripped=st.dictionaries(st.sampled_from(GUARDS), st.booleans()),
    approved=st.sets(st.sampled_from(GUARDS)),
    same_plan=st.booleans(),
)
def test_an_approval_overrides_only_the_guards_it_names_and_only_for_its_plan(
    tripped: dict[str, bool], approved: set[str], same_plan: bool
) -> None:
    verdicts = [
        GuardVerdict(g, blocked, False, f"{g} message", f"{g}=True") for g, blocked in tripped.items()
    ]
    approval = ApprovedOverride("run-1", tuple(sorted(approved)), "oncall", "2026-11-02T08:00:00+00:00")
    if not same_plan:
        with pytest.raises(GuardrailBlocked):
            apply_approval(verdicts, approval, run_id="run-2")
        return
    after = {v.guard: v for v in apply_approval(verdicts, approval, run_id="run-1")}
    for guard, blocked in tripped.items():
        assert after[guard].overridden == (blocked and guard in approved)
        assert after[guard].blocked == blocked


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        GuardFigures,
        audience=st.text(max_size=20),
        platform=st.sampled_from(["meta", "google"]),
        platform_audience=st.text(max_size=30),
        run_id=st.text(max_size=10),
        snapshot_id=st.text(max_size=10),
        snapshot_size=st.integers(0, 10**9),
        previous_size=st.none() | st.integers(0, 10**9),
        expected_size=st.integers(0, 10**9),
        adds=st.integers(0, 10**9),
        removes=st.integers(0, 10**9),
        shrink_ratio=st.floats(0, 1),
        blocked=st.dictionaries(st.sampled_from(GUARDS), st.text(max_size=40)),
        recent_sizes=st.dictionaries(st.text(max_size=12), st.integers(0, 10**9), max_size=7),
    )
)
def test_figures_survive_xcom_and_always_render(figures: GuardFigures) -> None:
    again = GuardFigures.from_dict(json.loads(json.dumps(figures.to_dict())))
    assert again == figures
    assert figures.subject() and f"{figures.expected_size:,}" in figures.body()
