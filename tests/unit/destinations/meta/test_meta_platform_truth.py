"""Issue 15 (platform truth), defects 4 and 6, end to end: ``run_sync`` -> the real facebook-business SDK -> the Graph
emulator, which applies edits later and in no promised order (its clock is moved by hand, in seconds).

Defect 4: a member present before and after a run is never named in a removal request, and once Meta has applied
everything the audience is exactly the snapshot, whichever order adds and removals land in.
Defect 6: a replace session Meta drops (expired, interrupted) and a flagged audience fail the run loudly with the
class and owner the on-call needs; nothing is reported synced that was not, and the next run repairs the audience.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from meta_sync_support import ACCOUNT, SECRET, TOKEN, make_members, sha

from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import (
    ConfigurationError,
    Guardrails,
    Member,
    SyncMode,
    SyncRequest,
    SyncRuntime,
    run_sync,
)
from airflow_provider_cio.sync.errors import MembersNotApplied
from airflow_provider_cio.sync.runner import ledger_prefix
from airflow_provider_cio.sync.state import StateStore
from cio_devkit.emulators.meta import MetaGraphEmulator
from cio_devkit.emulators.meta.settings import MetaEmulatorSettings

NAME = "churn risk"
GUARDS = Guardrails(min_size=1, max_shrink=1.0)
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def graph(clock: Clock) -> Iterator[MetaGraphEmulator]:
    emulator = MetaGraphEmulator(
        access_token=TOKEN,
        app_secret=SECRET,
        ad_account_id=ACCOUNT,
        settings=MetaEmulatorSettings(),
        clock=clock,
    ).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def meta(graph: MetaGraphEmulator) -> MetaCustomAudienceDestination:
    return MetaCustomAudienceDestination(ACCOUNT, TOKEN, SECRET, graph_url=graph.url, max_batch_size=40)


def sync(
    destination: MetaCustomAudienceDestination,
    store: MemoryObjectStore,
    members: list[Member],
    mode: str = "mirror",
    after_batch: Any = None,
):
    return run_sync(
        destination,
        store,
        SyncRequest(
            audience_name=NAME, members=members, mode=SyncMode(mode), guards=GUARDS, quality_passed=True
        ),
        runtime=SyncRuntime(sleep=lambda _s: None, after_batch=after_batch),
    )


def changed(ids: range) -> list[Member]:
    """The same people with a new email and a second phone (their old email is lost)."""
    return [
        Member(
            m.customer_id,
            {"email": (sha(f"new-{m.customer_id}"),), "phone": (*m.identifiers["phone"], sha("p2"))},
        )
        for m in make_members(ids)
    ]


def present_members_named_in_removals(
    graph: MetaGraphEmulator, audience_id: str, stayed: list[Member]
) -> list[str]:
    """Members who stay that some removal row names, by EXTERN_ID or by any hashed value they hold now."""
    named = []
    rows = graph.removal_rows(audience_id)
    for member in stayed:
        held = {value for values in member.identifiers.values() for value in values}
        if any(extern == member.customer_id or (values & held) for extern, values in rows):
            named.append(member.customer_id)
    return named


@pytest.mark.parametrize("reading", ["any_key", "extern_id"])
@pytest.mark.parametrize(("add_delay", "remove_delay"), [(HOUR, 24 * HOUR), (24 * HOUR, HOUR), (0.0, 0.0)])
def test_mirror_never_names_a_staying_member_in_a_removal_and_ends_as_the_snapshot(
    graph, meta, clock, reading, add_delay, remove_delay
):
    graph.configure(removal_match=reading, add_delay=add_delay, remove_delay=remove_delay)
    store = MemoryObjectStore()
    first = sync(meta, store, make_members(range(100)))
    clock.advance(48 * HOUR)
    # 0-19 leave, 20-49 change identifiers, 50-99 stay as they were, 100-129 join
    snapshot = changed(range(20, 50)) + make_members(range(50, 130))
    report = sync(meta, store, snapshot)
    assert report.status == "synced" and report.plan["removes"] == 50  # 20 departed + 30 lost-identifier rows
    assert present_members_named_in_removals(graph, first.audience_id, snapshot) == []
    assert report.sessions["remove"]["retained_not_sent"] == 30
    clock.advance(48 * HOUR)  # everything Meta accepted is applied, in its own order
    assert graph.pending_changes() == 0
    assert set(graph.audience_members(report.audience_id)) == {f"x:{m.customer_id}" for m in snapshot}


@pytest.mark.parametrize("leaves", ["previous", "partial"])
@pytest.mark.parametrize("how", ["expired", "interrupted"])
def test_a_replace_session_meta_drops_fails_the_run_and_the_next_run_repairs(graph, meta, clock, leaves, how):
    graph.configure(replace_session_ttl=90 * 60.0, expired_replace_leaves=leaves)
    store = MemoryObjectStore()
    before = make_members(range(60))
    sync(meta, store, before, mode="replace")
    snapshot = make_members(range(30, 150))

    def drop_after_first_batch(operation: str, seq: int, total: int) -> None:
        if operation == "replace" and seq == 1:
            if how == "expired":
                clock.advance(90 * 60.0 + 1)
            else:
                graph.interrupt_replace(graph.audience_ids()[NAME])

    with pytest.raises(MembersNotApplied) as failed:
        sync(meta, store, snapshot, mode="replace", after_batch=drop_after_first_batch)
    assert failed.value.error_class == "platform" and failed.value.reasons == {"replace_session_ended": 3}
    assert failed.value.members == len(snapshot)
    audience_id = graph.audience_ids()[NAME]
    state = StateStore(store, ledger_prefix("ledger", "meta", NAME)).load()
    assert state is not None and state.unapplied == len(snapshot)  # nothing was recorded as synced
    # what Meta holds meanwhile is the old membership or a part of the new one: never what the state claims
    clock.advance(HOUR)
    held = set(graph.audience_members(audience_id))
    expected_meanwhile = {f"x:{m.customer_id}" for m in (before if leaves == "previous" else snapshot[:40])}
    assert held == expected_meanwhile

    repaired = sync(meta, store, snapshot, mode="replace")
    assert repaired.status == "synced" and repaired.members_unapplied == 0
    sessions = {r["session_id"] for r in graph.edit_requests() if r["operation"] == "replace"}
    assert len(sessions) == 3  # the first sync, the dropped one, a new one for the repair
    clock.advance(HOUR)
    assert set(graph.audience_members(audience_id)) == {f"x:{m.customer_id}" for m in snapshot}


def test_a_flagged_audience_fails_at_once_naming_the_ad_account_owner(graph, meta):
    store = MemoryObjectStore()
    first = sync(meta, store, make_members(range(50)))
    graph.flag_audience(first.audience_id)
    with pytest.raises(ConfigurationError) as refused:
        sync(meta, store, make_members(range(10, 70)))
    assert refused.value.error_class == "configuration"
    assert "sensitive-category review" in refused.value.who_must_act
    state = StateStore(store, ledger_prefix("ledger", "meta", NAME)).load()
    assert state is not None and state.run_id == first.run_id  # the synced state did not move


def test_removals_refused_below_metas_size_floor_fail_the_run_naming_the_audience_owner(graph, meta):
    graph.configure(min_size_for_removal=100)
    store = MemoryObjectStore()
    first = sync(meta, store, make_members(range(50)))
    with pytest.raises(ConfigurationError) as refused:
        sync(meta, store, make_members(range(10, 50)))
    assert "minimum size" in str(refused.value) and "replace mode" in refused.value.who_must_act
    assert len(graph.audience_members(first.audience_id)) == 50  # nobody was removed, nobody reported removed


def test_a_removal_batch_of_retained_rows_only_leaves_no_gap_in_metas_batch_numbers(graph, meta):
    """The first removal batch holds only members who stay (not sent); the next one, a departure, opens Meta's
    session as batch 1."""
    store = MemoryObjectStore()
    first = sync(meta, store, make_members(range(100)))
    snapshot = changed(range(0, 60)) + make_members(range(60, 99))  # 0-59 lose their email, 99 leaves
    report = sync(meta, store, snapshot)
    assert report.plan["removes"] == 61 and report.batches_total > 2
    removals = [r for r in graph.edit_requests(ok_only=False) if r.get("operation") == "remove"]
    assert [(r["status"], r["batch_seq"]) for r in removals] == [(200, 1)]
    assert [extern for extern, _ in graph.removal_rows(first.audience_id)] == ["cust-000099"]
    assert set(graph.audience_members(first.audience_id)) == {f"x:{m.customer_id}" for m in snapshot}


def test_a_replace_resumed_after_its_session_expired_fails_loudly_then_repairs(graph, meta, clock):
    """A worker dies after two replace batches; its retry comes after Meta's session time limit: the resumed batches
    are refused (2650), nothing counts as synced, and the next run replaces in a new session."""
    graph.configure(replace_session_ttl=90 * 60.0, expired_replace_leaves="partial")
    store = MemoryObjectStore()
    sync(meta, store, make_members(range(60)), mode="replace")
    snapshot = make_members(range(20, 160))

    class WorkerDied(Exception):
        pass

    def die_after_two(operation: str, seq: int, total: int) -> None:
        if operation == "replace" and seq == 2:
            raise WorkerDied

    with pytest.raises(WorkerDied):
        sync(meta, store, snapshot, mode="replace", after_batch=die_after_two)
    clock.advance(2 * HOUR)  # the task's retry comes late
    with pytest.raises(MembersNotApplied) as failed:
        sync(meta, store, snapshot, mode="replace")
    assert failed.value.reasons == {"replace_session_ended": 4}
    repaired = sync(meta, store, snapshot, mode="replace")
    assert repaired.status == "synced"
    clock.advance(HOUR)
    assert set(graph.audience_members(repaired.audience_id)) == {f"x:{m.customer_id}" for m in snapshot}


@pytest.mark.parametrize("reading", ["any_key", "extern_id"])
def test_a_departed_member_sharing_an_email_never_takes_the_member_who_stays(graph, meta, clock, reading):
    """A household: 0 and 1 share an email. 0 leaves; 1 stays. Meta removes people matched by any key (a reading):
    a removal row naming the shared email would take 1 too. 2 leaves sharing everything with 3: nothing to send."""
    graph.configure(removal_match=reading)
    store = MemoryObjectStore()
    shared, also = sha("home@example.com"), sha("desk@example.com")
    base = make_members(range(4, 40))
    a = Member("cust-a", {"email": (shared,), "phone": (sha("a-phone"),)})
    b = Member("cust-b", {"email": (shared,), "phone": (sha("b-phone"),)})
    c = Member("cust-c", {"email": (also,)})
    d = Member("cust-d", {"email": (also,), "phone": (sha("d-phone"),)})
    sync(meta, store, [a, b, c, d, *base])
    clock.advance(48 * HOUR)
    report = sync(meta, store, [b, d, *base])
    clock.advance(48 * HOUR)
    held = graph.audience_members(report.audience_id)
    assert {"x:cust-b", "x:cust-d"} <= set(held) and "x:cust-a" not in held
    values = {v for person in held.values() for vs in person.values() for v in vs}
    assert {shared, also, sha("b-phone"), sha("d-phone")} <= values and sha("a-phone") not in values
    assert present_members_named_in_removals(graph, report.audience_id, [b, d, *base]) == []
    assert (
        report.status == "synced" and report.plan["removes"] == 1
    )  # a's own phone; c named nothing of its own
