"""The sync plan: what one run will add and remove, from a merge-join of the new snapshot and the last synced state.

Both sides are sorted by ``customer_id``, so the diff is one streaming pass; only members that must be sent are
materialized. Modes:

* ``upsert``  - add new and changed members, never remove (the state becomes the union).
* ``mirror``  - add new and changed members, remove departed members and the old identifiers of changed ones.
* ``replace`` - send the whole snapshot through the platform's full-refresh operation (counts are still diffed
  so the report shows what the refresh changes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_cio.sync.destination import Member, Operation
from airflow_provider_cio.sync.snapshot import Snapshot
from airflow_provider_cio.sync.state import StateInfo, StateLine

SyncMode = Literal["upsert", "mirror", "replace"]
SYNC_MODES: tuple[str, ...] = ("upsert", "mirror", "replace")


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
    adds: list[Member] = field(default_factory=list, repr=False)
    removes: list[Member] = field(default_factory=list, repr=False)
    replace_members: list[Member] = field(default_factory=list, repr=False)

    @property
    def shrink_ratio(self) -> float:
        """Fraction of the last synced size the audience loses (0 when it grows or there is no history)."""
        if not self.previous_size:
            return 0.0
        return max(0.0, (self.previous_size - self.expected_size) / self.previous_size)

    @property
    def rows_to_send(self) -> int:
        return len(self.adds) + len(self.removes) + len(self.replace_members)

    def operations(self) -> list[tuple[Operation, list[Member]]]:
        """Operations in the order they must run: removals first, so a changed member's new row survives."""
        ops: list[tuple[Operation, list[Member]]] = []
        if self.replace_members:
            ops.append(("replace", self.replace_members))
        if self.removes:
            ops.append(("remove", self.removes))
        if self.adds:
            ops.append(("add", self.adds))
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
            "shrink_ratio": round(self.shrink_ratio, 4),
            "coverage": dict(self.coverage),
        }


def build_plan(
    snapshot: Snapshot,
    previous: StateInfo | None,
    previous_lines: Iterator[StateLine],
    *,
    mode: SyncMode,
    snapshot_id: str,
) -> SyncPlan:
    """Merge-join ``snapshot`` against the stored state lines (both sorted by customer_id)."""
    if mode not in SYNC_MODES:
        raise ValueError(f"unknown sync mode {mode!r}; expected one of {SYNC_MODES}")
    mirror = mode == "mirror"
    wipe_by_removal = mode == "replace" and len(snapshot) == 0  # usersreplace cannot carry zero rows
    adds: list[Member] = []
    removes: list[Member] = []
    new = changed = departed = unchanged = 0

    old = next(previous_lines, None)
    for entry in snapshot.entries:
        while old is not None and old.customer_id < entry.customer_id:
            departed += 1
            if mirror or wipe_by_removal:
                removes.append(old.to_member())
            old = next(previous_lines, None)
        if old is not None and old.customer_id == entry.customer_id:
            if old.fingerprint == entry.fingerprint:
                unchanged += 1
            else:
                changed += 1
                adds.append(entry.member)
                if mirror:
                    removes.append(old.to_member())
            old = next(previous_lines, None)
        else:
            new += 1
            adds.append(entry.member)
    while old is not None:
        departed += 1
        if mirror or wipe_by_removal:
            removes.append(old.to_member())
        old = next(previous_lines, None)

    previous_size = previous.size if previous else None
    expected = (previous_size or 0) + new if mode == "upsert" else len(snapshot)
    replace_members: list[Member] = []
    if mode == "replace":
        replace_members = [e.member for e in snapshot.entries]
        adds = []  # a full refresh sends everything once, through the replace operation

    return SyncPlan(
        mode=mode,
        snapshot_id=snapshot_id,
        base_snapshot_id=previous.snapshot_id if previous else None,
        snapshot_size=len(snapshot),
        previous_size=previous_size,
        new_members=new,
        changed_members=changed,
        departed_members=departed,
        unchanged_members=unchanged,
        expected_size=expected,
        coverage=snapshot.coverage(),
        adds=adds,
        removes=removes,
        replace_members=replace_members,
    )
