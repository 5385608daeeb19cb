"""Plan, snapshot identity, state round trip and batching, without any platform."""

from __future__ import annotations

import pytest
from meta_sync_support import make_members

from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Member
from airflow_provider_cio.sync.batching import make_batches
from airflow_provider_cio.sync.plan import build_plan
from airflow_provider_cio.sync.runner import snapshot_id_for
from airflow_provider_cio.sync.snapshot import Snapshot, identifiers_json
from airflow_provider_cio.sync.state import StateStore, format_line


def stored(store: MemoryObjectStore, members: list[Member]) -> StateStore:
    states = StateStore(store, "ledger/meta/a")
    snap = Snapshot.from_members(members)
    lines = (
        format_line(e.customer_id, e.fingerprint, e.member.consent, identifiers_json(e.member.identifiers))
        for e in snap.entries
    )
    states.write(snapshot_id="s0", run_id="r0", mode="mirror", audience_id="1", lines=lines)
    return states


def test_snapshot_id_ignores_input_order_but_not_content_or_mode():
    members = make_members(range(50))
    a = Snapshot.from_members(members)
    b = Snapshot.from_members(list(reversed(members)))
    c = Snapshot.from_members(make_members(range(51)))
    assert a.content_id == b.content_id != c.content_id
    assert snapshot_id_for(a, "mirror") != snapshot_id_for(a, "replace")


def test_duplicate_customer_ids_are_refused():
    members = make_members(range(3)) + make_members([1])
    with pytest.raises(ValueError, match="1 duplicate customer_id"):
        Snapshot.from_members(members)


def test_state_round_trip_streams_members_back_in_order():
    store = MemoryObjectStore()
    members = make_members([5, 1, 3])
    states = stored(store, members)
    info = states.load()
    assert info is not None and info.size == 3
    lines = list(states.iter_lines(info))
    assert [line.customer_id for line in lines] == ["cust-000001", "cust-000003", "cust-000005"]
    assert lines[0].to_member() == make_members([1])[0]


def test_mirror_plan_counts_new_changed_departed_unchanged():
    store = MemoryObjectStore()
    states = stored(store, make_members(range(100)))
    info = states.load()
    new = make_members(range(5), email_salt="x") + make_members(range(5, 90)) + make_members(range(100, 110))
    snap = Snapshot.from_members(new)
    plan = build_plan(snap, info, states.iter_lines(info), mode="mirror", snapshot_id="s1")
    summary = plan.to_summary()
    assert (summary["new_members"], summary["changed_members"], summary["departed_members"]) == (10, 5, 10)
    assert summary["unchanged_members"] == 85
    assert summary["adds"] == 15 and summary["removes"] == 15
    assert summary["coverage"] == {"email": 100, "phone": 100}
    assert plan.shrink_ratio == 0.0 and summary["expected_size"] == 100
    assert "cust-" not in repr(summary)


def test_upsert_plan_never_removes_and_counts_the_union():
    store = MemoryObjectStore()
    states = stored(store, make_members(range(100)))
    info = states.load()
    plan = build_plan(
        Snapshot.from_members(make_members(range(90, 120))),
        info,
        states.iter_lines(info),
        mode="upsert",
        snapshot_id="s1",
    )
    assert plan.removes == [] and len(plan.adds) == 20 and plan.expected_size == 120


def test_weighted_batches_respect_the_row_budget_and_are_deterministic():
    members = [Member(f"c{i}", {"email": tuple(f"{j:064x}" for j in range(1 + i % 3))}) for i in range(30)]

    def weight(member: Member) -> int:
        return len(member.identifiers["email"])

    batches = list(make_batches(members, 7, weight))
    assert all(sum(weight(m) for m in b) <= 7 for b in batches)
    assert [m for b in batches for m in b] == members
    assert batches == list(make_batches(members, 7, weight))
