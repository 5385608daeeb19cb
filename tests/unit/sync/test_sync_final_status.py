"""The runner's bookkeeping when a platform accepts and then fails, and when memberships lapse.

The destination here is a small in-memory platform written for these tests: it applies adds and removals by
``customer_id`` and reports, at ``close_session``, the batches a test tells it to fail, the way Data Manager
reports FAILURE / PARTIAL_SUCCESS after accepting a request. The platform-level versions of these checks (the real
SDKs against the emulators) live in tests/unit/destinations/google and tests/unit/destinations/meta.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from meta_sync_support import make_members

from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Guardrails, Member, SyncMode, SyncRequest, SyncRuntime, run_sync
from airflow_provider_cio.sync.destination import BatchResult, Destination, Operation, SessionState
from airflow_provider_cio.sync.errors import MembersNotApplied
from airflow_provider_cio.sync.plan import build_plan
from airflow_provider_cio.sync.runner import ledger_prefix
from airflow_provider_cio.sync.snapshot import Snapshot, identifiers_json
from airflow_provider_cio.sync.state import StateStore, format_line

NAME = "winback"
GUARDS = Guardrails(min_size=1, max_shrink=1.0)
DAY0 = datetime(2026, 1, 1, 6, tzinfo=UTC)


class ListPlatform(Destination):
    """Applies requests by customer_id at close; fails the seqs in ``fail_next[operation]`` once."""

    platform = "google"

    def __init__(self, *, max_batch_size: int = 100, refresh_after_days: int | None = None) -> None:
        self.max_batch_size = max_batch_size
        self.refresh_after_days = refresh_after_days
        self.members: dict[str, Member] = {}
        self.fail_next: dict[str, set[int]] = {}
        self.sent: list[tuple[str, list[str]]] = []  # (operation, customer ids) per batch, in order
        self._pending: dict[str, list[tuple[int, list[Member]]]] = {}

    def ensure_audience(self, name: str, *, description: str = "", known_id: str | None = None) -> str:
        return "list-1"

    def open_session(self, audience_id: str, operation: Operation, *, total_members: int) -> SessionState:
        self._pending[operation] = []
        return SessionState(operation=operation, handle={})

    def send_batch(
        self, audience_id: str, session: SessionState, batch: Sequence[Member], *, seq: int, last: bool
    ) -> BatchResult:
        self.sent.append((session.operation, [m.customer_id for m in batch]))
        self._pending[session.operation].append((seq, list(batch)))
        return BatchResult(received=len(batch))

    def close_session(self, audience_id: str, session: SessionState) -> dict[str, Any]:
        failing = self.fail_next.pop(session.operation, set())
        for seq, batch in self._pending.pop(session.operation, []):
            if seq in failing:
                continue
            for member in batch:
                if session.operation == "remove":
                    self.members.pop(member.customer_id, None)
                else:
                    self.members[member.customer_id] = member
        if not failing:
            return {"statuses": {"SUCCESS": 1}}
        return {"failed_seqs": sorted(failing), "failed_reasons": {"INTERNAL_ERROR": 100 * len(failing)}}

    def describe(self, audience_id: str) -> dict[str, Any]:
        return {"size": len(self.members)}


def sync(platform: ListPlatform, store: MemoryObjectStore, members: list[Member], *, day: int = 0):
    return run_sync(
        platform,
        store,
        SyncRequest(
            audience_name=NAME, members=members, mode=SyncMode.MIRROR, guards=GUARDS, quality_passed=True
        ),
        runtime=SyncRuntime(now=lambda: DAY0 + timedelta(days=day)),
    )


def ids(members: list[Member]) -> set[str]:
    return {m.customer_id for m in members}


def test_members_failed_after_acceptance_are_not_recorded_and_are_sent_again():
    platform, store = ListPlatform(), MemoryObjectStore()
    target = make_members(range(300))
    platform.fail_next["add"] = {2}  # members 100..199
    with pytest.raises(MembersNotApplied, match=r"100 member\(s\).*INTERNAL_ERROR: 100") as raised:
        sync(platform, store, target)
    assert raised.value.error_class == "platform"
    assert set(platform.members) == ids(make_members([*range(100), *range(200, 300)]))
    state = StateStore(store, ledger_prefix("ledger", "google", NAME))
    info = state.load()
    assert info is not None and info.size == 200 and info.unapplied == 100

    before = len(platform.sent)
    report = sync(platform, store, target)  # the retry: a new run against the partial state
    assert report.status == "synced" and report.plan["adds"] == 100
    assert [cids for _, cids in platform.sent[before:]] == [
        [m.customer_id for m in make_members(range(100, 200))]
    ]
    assert set(platform.members) == ids(target)
    assert sync(platform, store, target).status == "already_synced"


def test_a_failed_removal_keeps_the_departed_member_until_a_removal_applies():
    platform, store = ListPlatform(), MemoryObjectStore()
    sync(platform, store, make_members(range(300)))
    platform.fail_next["remove"] = {1}
    with pytest.raises(MembersNotApplied):
        sync(platform, store, make_members(range(100, 300)))
    assert len(platform.members) == 300  # nothing was removed
    report = sync(platform, store, make_members(range(100, 300)))
    assert report.plan["removes"] == 100 and report.plan["adds"] == 0
    assert set(platform.members) == ids(make_members(range(100, 300)))


def test_a_refused_batch_is_stored_as_before_and_fails_the_run_as_data():
    """A batch the platform refused as invalid counts the same way: the rest advances, those are sent again."""
    from airflow_provider_cio.sync.errors import DataError

    class Refusing(ListPlatform):
        def send_batch(self, audience_id, session, batch, *, seq, last):  # type: ignore[no-untyped-def]
            if seq == 1 and not self.sent:
                self.sent.append(("refused", []))
                raise DataError("INVALID_SHA256_FORMAT in 100 rows")
            return super().send_batch(audience_id, session, batch, seq=seq, last=last)

    platform, store = Refusing(), MemoryObjectStore()
    with pytest.raises(DataError, match=r"100 members"):
        sync(platform, store, make_members(range(200)))
    report = sync(platform, store, make_members(range(200)))
    assert report.plan["adds"] == 100 and set(platform.members) == ids(make_members(range(200)))


def test_adds_run_before_removals_and_a_changed_member_loses_only_what_it_lost():
    platform, store = ListPlatform(), MemoryObjectStore()
    sync(platform, store, make_members(range(50)))
    changed = make_members(range(5), email_salt="-new") + make_members(range(5, 40))
    report = sync(platform, store, changed)
    operations = [op for op, _ in platform.sent[-2:]]
    assert operations == ["add", "remove"]
    removed = {m.customer_id: m for m in _removals(store, changed)}
    assert len(removed) == 15
    old, new = make_members([3])[0], changed[3]
    assert removed["cust-000003"].retained
    assert dict(removed["cust-000003"].identifiers) == {"email": old.identifiers["email"]}
    assert new.identifiers["phone"] == old.identifiers["phone"]  # kept: never in a removal
    assert not removed["cust-000045"].retained and report.plan["removes"] == 15


def _removals(store: MemoryObjectStore, snapshot_members: list[Member]) -> list[Member]:
    """Rebuild the plan of the last run from the state it was diffed against (the previous state file)."""
    states = StateStore(store, ledger_prefix("ledger", "google", NAME))
    files = sorted(p for p in store.list(f"{ledger_prefix('ledger', 'google', NAME)}/state/"))
    info = states.load()
    assert info is not None
    first = [p for p in files if p != info.members_path]
    base = info.__class__(**{**info.__dict__, "members_path": first[0]})
    snap = Snapshot.from_members(snapshot_members)
    return build_plan(snap, base, states.iter_lines(base), mode="mirror", snapshot_id="x").removes


def test_unchanged_members_are_sent_again_before_their_membership_lapses_and_spread_over_days():
    platform, store = ListPlatform(refresh_after_days=30), MemoryObjectStore()
    members = make_members(range(2000))
    sync(platform, store, members, day=0)
    per_day: dict[int, int] = {}
    for day in range(1, 46):
        report = sync(platform, store, members, day=day)
        if report.status == "already_synced":  # the state knows its oldest upload: nothing due, nothing read
            per_day[day] = 0
            continue
        per_day[day] = report.plan["refreshed_members"]
        assert report.plan["adds"] == per_day[day] and report.plan["removes"] == 0
    assert sum(per_day[d] for d in range(1, 15)) == 0  # nothing is due before half the refresh age
    assert sum(per_day[d] for d in range(15, 31)) == 2000  # everyone once by the refresh age
    assert max(per_day.values()) < 400  # spread over days, not one re-upload of the whole audience
    # the second cycle: each member again within 30 days of its first refresh
    assert sum(per_day[d] for d in range(31, 46)) > 0


def test_no_refresh_where_memberships_do_not_lapse():
    platform, store = ListPlatform(refresh_after_days=None), MemoryObjectStore()
    members = make_members(range(100))
    sync(platform, store, members, day=0)
    assert sync(platform, store, members, day=900).status == "already_synced"
    changed = members + make_members([100])
    assert sync(platform, store, changed, day=901).plan["refreshed_members"] == 0


def test_version_1_state_lines_count_as_sent_on_the_state_date():
    store = MemoryObjectStore()
    base = ledger_prefix("ledger", "google", NAME)
    states = StateStore(store, base)
    snap = Snapshot.from_members(make_members(range(10)))
    v1 = (
        f"{e.customer_id}\t{e.fingerprint}\t1\t{identifiers_json(e.member.identifiers)}" for e in snap.entries
    )
    info = states.write(snapshot_id="old", run_id="r0", mode="mirror", audience_id="list-1", lines=v1)
    lines = list(states.iter_lines(info))
    assert [line.sent_on for line in lines] == [""] * 10
    assert lines[0].to_member() == snap.entries[0].member
    synced = datetime.fromisoformat(info.synced_at.replace("Z", "+00:00")).date()
    today = synced + timedelta(days=40)
    plan = build_plan(
        snap,
        info,
        states.iter_lines(info),
        mode="mirror",
        snapshot_id="new",
        refresh_after_days=30,
        today=today,
    )
    assert plan.refreshed_members == 10
    v2 = format_line("c", "f" * 16, True, "{}", sent_on="2026-01-01")
    assert v2.split("\t")[3] == "2026-01-01"
