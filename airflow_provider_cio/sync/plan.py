"""The sync plan: what one run will add and remove, from a join of the new snapshot and the last synced state.

The join runs on Arrow columns (``sync.diff``); only members that must be sent are materialized, so a plan costs
the churn plus a few vectorised passes, not a Python step per member. Modes:

* ``upsert``  - add new and changed members, never remove (the state becomes the union).
* ``mirror``  - add new and changed members, remove departed members and the identifiers changed members lost.
* ``replace`` - send the whole snapshot through the platform's full-refresh operation (counts are still diffed
  so the report shows what the refresh changes).

Platforms apply requests later and in no promised order (Meta: adds within about an hour, removals within 24 h), so
nothing a member keeps is ever in a removal: a changed member's removal carries only the identifier values it lost
(``Member.retained``), no removal names a value another member of the snapshot holds (platforms key memberships by
hashed identifier: a departed member's shared email would take the member who stays with it), and adds run before
removals. A removal that names only a member's own values can still take a member who stays: a platform that merges
uploads sharing an identifier into one user (Customer Match may) removes the whole user, the stayer's values with
the leaver's. The members linked to a removal this run sends through shared values (directly, or through other
members and the leaver's earlier uploads) are marked in the state and sent again on the next run, once the removal
has been applied (``resend_next``). Where memberships lapse (Google Customer Match), an unchanged
member last sent ``refresh_after_days`` ago is added again; each upload comes due again somewhere between half and
all of that age (drawn per member and upload), so a million members first synced on one day are not all re-sent on
one later day, and the daily refresh load settles flat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.sync.destination import Member, Operation
from airflow_provider_cio.sync.diff import Diff, diff_against
from airflow_provider_cio.sync.planned_members import PlannedMembers
from airflow_provider_cio.sync.snapshot import Snapshot
from airflow_provider_cio.sync.state import RESEND_SENT_ON, StateInfo, StateLine, lines_table

if TYPE_CHECKING:
    import pyarrow as pa


class SyncMode(StrEnum):
    """How a run changes the platform audience (see the module docstring); the DAG config's ``mode``."""

    UPSERT = "upsert"
    MIRROR = "mirror"
    REPLACE = "replace"


SYNC_MODES: tuple[str, ...] = tuple(mode.value for mode in SyncMode)


@dataclass
class SyncPlan:
    """Adds, removes and counts for one run; ``to_summary()`` is PII-free and XCom-sized."""

    mode: SyncMode
    snapshot_id: str
    base_snapshot_id: str | None
    snapshot_size: int
    previous_size: int | None
    new_members: int
    changed_members: int
    departed_members: int
    unchanged_members: int
    expected_size: int
    coverage: dict[str, int]
    refreshed_members: int = 0  # unchanged members sent again before their platform membership lapses
    adds: Sequence[Member] = field(default_factory=list, repr=False)  # ``PlannedMembers``: built when read
    removes: list[Member] = field(default_factory=list, repr=False)
    replace_members: Sequence[Member] = field(default_factory=list, repr=False)
    refreshed_ids: set[str] = field(default_factory=set, repr=False)
    # unchanged members sent again because a removal of the last run may have taken them (see the module docstring)
    resent_members: int = 0
    # members a removal of this run may take with it: the state marks them, and the next run sends them again
    resend_next: set[str] = field(default_factory=set, repr=False)
    diff: Diff | None = field(default=None, repr=False)  # the join the next state is written from

    @property
    def shrink_ratio(self) -> float:
        """Fraction of the last synced size the audience loses (0 when it grows or there is no history)."""
        if not self.previous_size:
            return 0.0
        return max(0.0, (self.previous_size - self.expected_size) / self.previous_size)

    @property
    def rows_to_send(self) -> int:
        return len(self.adds) + len(self.removes) + len(self.replace_members)

    def added_ids(self) -> set[str]:
        """Customer ids of the adds, without building their ``Member``s where the plan holds positions."""
        if isinstance(self.adds, PlannedMembers):
            return self.adds.customer_ids()
        return {member.customer_id for member in self.adds}

    def operations(self) -> list[tuple[Operation, Sequence[Member]]]:
        """Operations in the order they run: whatever puts members in first, removals last. Removals never name
        what a member keeps, so the order the platform applies them in cannot drop anyone who stays."""
        ops: list[tuple[Operation, Sequence[Member]]] = []
        if self.replace_members:
            ops.append(("replace", self.replace_members))
        if self.adds:
            ops.append(("add", self.adds))
        if self.removes:
            ops.append(("remove", self.removes))
        return ops

    def to_summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "snapshot_id": self.snapshot_id,
            "base_snapshot_id": self.base_snapshot_id,
            "snapshot_size": self.snapshot_size,
            "previous_size": self.previous_size,
            "expected_size": self.expected_size,
            "adds": len(self.adds),
            "removes": len(self.removes),
            "replace_rows": len(self.replace_members),
            "new_members": self.new_members,
            "changed_members": self.changed_members,
            "departed_members": self.departed_members,
            "unchanged_members": self.unchanged_members,
            "refreshed_members": self.refreshed_members,
            "resent_members": self.resent_members,
            "resend_next_run": len(self.resend_next),
            "shrink_ratio": round(self.shrink_ratio, 4),
            "coverage": dict(self.coverage),
        }


def build_plan(
    snapshot: Snapshot,
    previous: StateInfo | None,
    previous_lines: Iterable[StateLine] | pa.Table,
    *,
    mode: SyncMode,
    snapshot_id: str,
    refresh_after_days: int | None = None,
    today: date | None = None,
) -> SyncPlan:
    """Diff ``snapshot`` against the stored state (``StateStore.read_table``, or its lines; both sorted by
    customer_id) in Arrow columns; ``Member``s are built only for the rows a request will carry.

    ``refresh_after_days`` (with ``today``, the UTC date of the run) re-adds unchanged members last sent that long
    ago; lines that do not say when they were sent count as sent on the state's date."""
    import numpy as np
    import pyarrow as pa

    if mode not in SYNC_MODES:
        raise ValueError(f"unknown sync mode {mode!r}; expected one of {SYNC_MODES}")
    mirror = mode == "mirror"
    wipe_by_removal = mode == "replace" and len(snapshot) == 0  # usersreplace cannot carry zero rows
    old = previous_lines if isinstance(previous_lines, pa.Table) else lines_table(previous_lines)
    diff = diff_against(snapshot, old)
    due = _RefreshDue(refresh_after_days, today, previous.synced_on if previous else "")
    resent = _marked_for_resend(diff) if mode != "replace" else np.zeros(0, dtype=np.int64)
    refreshed = due.rows(snapshot, diff) if due.enabled else []
    if len(resent) and refreshed:  # a marked member is sent again whatever its age: counted once, as resent
        refreshed = np.setdiff1d(refreshed, resent).tolist()
    cids = snapshot.keys.column("customer_id")
    refreshed_ids = set(cids.take(pa.array(refreshed, type=pa.int64())).to_pylist()) if refreshed else set()

    adds: Sequence[Member] = []
    if mode != "replace":
        send = diff.new | diff.changed
        send[refreshed] = True
        send[resent] = True
        adds = PlannedMembers(snapshot, send.nonzero()[0])
    removes: list[Member] = []
    resend_next: set[str] = set()
    if mirror or wipe_by_removal:
        removes, takes = _removals(snapshot, diff, with_lost=mirror)
        resend_next = set(cids.take(pa.array(takes, type=pa.int64())).to_pylist()) if takes else set()

    previous_size = previous.size if previous else None
    new = int(diff.new.sum())
    expected = (previous_size or 0) + new if mode == "upsert" else len(snapshot)
    replace_members: Sequence[Member] = (
        PlannedMembers(snapshot, np.arange(len(snapshot), dtype=np.int64)) if mode == "replace" else []
    )

    return SyncPlan(
        mode=mode,
        snapshot_id=snapshot_id,
        base_snapshot_id=previous.snapshot_id if previous else None,
        snapshot_size=len(snapshot),
        previous_size=previous_size,
        new_members=new,
        changed_members=int(diff.changed.sum()),
        departed_members=int(diff.departed.sum()),
        unchanged_members=int(diff.unchanged.sum()),
        expected_size=expected,
        coverage=snapshot.coverage(),
        refreshed_members=len(refreshed_ids) if mode != "replace" else 0,
        adds=adds,
        removes=removes,
        replace_members=replace_members,
        refreshed_ids=refreshed_ids if mode != "replace" else set(),
        resent_members=len(resent),
        resend_next=resend_next,
        diff=diff,
    )


def _marked_for_resend(diff: Diff) -> Any:
    """Snapshot positions of the unchanged members the last run marked to be sent again (``resend_next``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = diff.unchanged.nonzero()[0]
    if not len(rows):
        return rows
    sent = pc.take(diff.old.column("sent_on"), pa.array(diff.position[rows]))
    return rows[np.asarray(pc.equal(sent, RESEND_SENT_ON).to_numpy(zero_copy_only=False), dtype=bool)]


def _removals(snapshot: Snapshot, diff: Diff, *, with_lost: bool) -> tuple[list[Member], list[int]]:
    """Departed members whole, and (``with_lost``) the identifiers changed members lost, in customer_id order; and
    the snapshot positions of the members the departed members' removals may take with them (``_merged_with``).
    A changed member's removal (``Member.retained``) is never sent: its lost values stay on the platform, merged
    with its kept ones, until they lapse; a departed member sharing one of them can take it."""
    import numpy as np

    departed = diff.departed.nonzero()[0]
    changed_rows = diff.changed.nonzero()[0] if with_lost else np.zeros(0, dtype=np.int64)
    changed_old = diff.position[changed_rows]
    old_rows = np.concatenate([departed, changed_old])
    order = np.argsort(old_rows, kind="stable")
    old_members = diff.old_members(old_rows[order].tolist())
    new_by_old = dict(zip(changed_old.tolist(), snapshot.members_at(changed_rows.tolist()), strict=True))
    removes: list[Member] = []
    whole: dict[str, Member] = {}  # customer id -> every value the member had (its removal may name fewer)
    for row, member in zip(old_rows[order].tolist(), old_members, strict=True):
        whole[member.customer_id] = member
        kept_as = new_by_old.get(row)
        if kept_as is None:
            removes.append(member)
            continue
        lost = _lost_identifiers(member, kept_as)
        if lost is not None:
            removes.append(lost)
    removes = _sparing_held(snapshot, removes)
    sent = [removal for removal in removes if not removal.retained]  # destinations never send a retained one
    return removes, _merged_with(snapshot, sent, list(whole.values()))


def _merged_with(snapshot: Snapshot, removes: list[Member], uploaded: list[Member]) -> list[int]:
    """Snapshot positions of the members a platform that merges uploads sharing a value would hold in one user with
    a value some removal names: everything reachable from those values through values shared by snapshot members
    and by the removed members' earlier uploads (``uploaded``, each with every value it had)."""
    reached: dict[str, set[str]] = {}
    frontier = [
        (kind, v) for member in removes for kind, values in member.identifiers.items() for v in values
    ]
    takes: set[int] = set()
    pending = list(uploaded)
    named = True  # the first round asks for the values removals name: no member holds one (``_sparing_held``)
    while frontier:
        asked: dict[str, set[str]] = {}
        for kind, value in frontier:
            if value and value not in reached.setdefault(kind, set()):
                reached[kind].add(value)
                asked.setdefault(kind, set()).add(value)
        found = (
            set()
            if named
            else {row for kind, values in asked.items() for row in snapshot.holders(kind, values)}
        )
        named = False
        rows = sorted(found - takes)
        takes.update(rows)
        hit = [any(asked.get(k, set()).intersection(v) for k, v in m.identifiers.items()) for m in pending]
        joined = [m for m, h in zip(pending, hit, strict=True) if h]
        pending = [m for m, h in zip(pending, hit, strict=True) if not h]
        frontier = [
            (kind, v)
            for member in [*snapshot.members_at(rows), *joined]
            for kind, values in member.identifiers.items()
            for v in values
            if v not in reached.get(kind, set())
        ]
    return sorted(takes)


def _sparing_held(snapshot: Snapshot, removes: list[Member]) -> list[Member]:
    """The removals without any identifier value a snapshot member still holds (same kind). Platforms key
    memberships by hashed identifier, not by our customer id: removing a departed member's shared email
    (a household, a shared inbox, a duplicate profile) would also remove the member who stays with it. A removal
    left with nothing is dropped: everything it named is still held by someone in the audience (or it named nothing:
    a request with no identifier fails on Google). Adds are snapshot
    members, so a value added in the same plan is spared too. One probe per kind over the snapshot's columns."""
    from dataclasses import replace

    if not removes:
        return removes
    asked: dict[str, set[str]] = {}
    for member in removes:
        for kind, values in member.identifiers.items():
            asked.setdefault(kind, set()).update(values)
    held = {kind: snapshot.held(kind, values) for kind, values in asked.items()}
    out: list[Member] = []
    for member in removes:
        kept: dict[str, tuple[str, ...]] = {}
        for kind, values in member.identifiers.items():
            free = tuple(v for v in values if v and v not in held[kind])
            if free:
                kept[kind] = free
        if kept:
            out.append(member if kept == dict(member.identifiers) else replace(member, identifiers=kept))
    return out


def _lost_identifiers(old: Member, new: Member) -> Member | None:
    """The removal for a member who stays: only the values it no longer has (None when it lost nothing)."""
    lost: dict[str, tuple[str, ...]] = {}
    for kind, values in old.identifiers.items():
        kept = set(new.identifiers.get(kind, ()))
        gone = tuple(v for v in values if v not in kept)
        if gone:
            lost[kind] = gone
    if not lost:
        return None
    return Member(customer_id=old.customer_id, identifiers=lost, consent=old.consent, retained=True)


class _RefreshDue:
    """Which unchanged members are due to be sent again? ISO dates compare as strings, in Arrow for all of them;
    only those between half and all of the refresh age draw their spread in Python."""

    def __init__(self, refresh_after_days: int | None, today: date | None, default_sent_on: str) -> None:
        self.enabled = bool(refresh_after_days) and today is not None
        if not self.enabled or refresh_after_days is None or today is None:
            return
        self.days = refresh_after_days
        self.today = today
        self.default = default_sent_on
        self.never_before = (today - timedelta(days=refresh_after_days / 2)).isoformat()  # younger: never due
        self.always_from = (today - timedelta(days=refresh_after_days)).isoformat()  # this old: always due

    def rows(self, snapshot: Snapshot, diff: Diff) -> list[int]:
        """Snapshot positions of the unchanged members due for a refresh, ascending."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        rows = diff.unchanged.nonzero()[0]
        if not len(rows):
            return []
        sent = pc.take(diff.old.column("sent_on"), pa.array(diff.position[rows]))
        sent = pc.if_else(pc.equal(sent, ""), pa.scalar(self.default, pa.string()), sent)
        always = pc.or_(pc.equal(sent, ""), pc.less_equal(sent, self.always_from))
        maybe = pc.and_(pc.invert(always), pc.less_equal(sent, self.never_before))
        due = np.asarray(always.to_numpy(zero_copy_only=False), dtype=bool)
        middle = np.asarray(maybe.to_numpy(zero_copy_only=False), dtype=bool).nonzero()[0]
        if len(middle):
            ids = snapshot.keys.column("customer_id").take(pa.array(rows[middle])).to_pylist()
            dates = sent.take(pa.array(middle)).to_pylist()
            due[middle] = [self.at(cid, on) for cid, on in zip(ids, dates, strict=True)]
        return sorted(rows[due].tolist())

    def at(self, customer_id: str, sent: str) -> bool:
        """Due when at least half the refresh age plus a per-upload share of the other half has passed."""
        age = (self.today - date.fromisoformat(sent)).days
        # drawn anew for every upload (keyed by its date): a fixed draw per member would give each member a fixed
        # period, and days that many periods divide (day 180: periods 90 and 180) would come due together
        key = f"{customer_id}|{sent}".encode()
        spread = int(hashlib.sha256(key).hexdigest()[:8], 16) / 0x1_0000_0000
        return age >= self.days * (0.5 + 0.5 * spread)
