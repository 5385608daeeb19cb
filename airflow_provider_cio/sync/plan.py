"""The sync plan: what one run will add and remove, from a merge-join of the new snapshot and the last synced state.

Both sides are sorted by ``customer_id``, so the diff is one streaming pass; only members that must be sent are
materialized. Modes:

* ``upsert``  - add new and changed members, never remove (the state becomes the union).
* ``mirror``  - add new and changed members, remove departed members and the identifiers changed members lost.
* ``replace`` - send the whole snapshot through the platform's full-refresh operation (counts are still diffed
  so the report shows what the refresh changes).

Platforms apply requests later and in no promised order (Meta: adds within about an hour, removals within 24 h), so
nothing a member keeps is ever in a removal: a changed member's removal carries only the identifier values it lost
(``Member.retained``), and adds run before removals. Where memberships lapse (Google Customer Match), an unchanged
member last sent ``refresh_after_days`` ago is added again; each upload comes due again somewhere between half and
all of that age (drawn per member and upload), so a million members first synced on one day are not all re-sent on
one later day, and the daily refresh load settles flat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
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
    refreshed_members: int = 0  # unchanged members sent again before their platform membership lapses
    adds: list[Member] = field(default_factory=list, repr=False)
    removes: list[Member] = field(default_factory=list, repr=False)
    replace_members: list[Member] = field(default_factory=list, repr=False)
    refreshed_ids: set[str] = field(default_factory=set, repr=False)

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
        """Operations in the order they run: whatever puts members in first, removals last. Removals never name
        what a member keeps, so the order the platform applies them in cannot drop anyone who stays."""
        ops: list[tuple[Operation, list[Member]]] = []
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
    refresh_after_days: int | None = None,
    today: date | None = None,
) -> SyncPlan:
    """Merge-join ``snapshot`` against the stored state lines (both sorted by customer_id).

    ``refresh_after_days`` (with ``today``, the UTC date of the run) re-adds unchanged members last sent that long
    ago; lines that do not say when they were sent count as sent on the state's date."""
    if mode not in SYNC_MODES:
        raise ValueError(f"unknown sync mode {mode!r}; expected one of {SYNC_MODES}")
    mirror = mode == "mirror"
    wipe_by_removal = mode == "replace" and len(snapshot) == 0  # usersreplace cannot carry zero rows
    due = _RefreshDue(refresh_after_days, today, previous.synced_on if previous else "")
    adds: list[Member] = []
    removes: list[Member] = []
    refreshed_ids: set[str] = set()
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
                if due.enabled and due(old):
                    refreshed_ids.add(entry.customer_id)
                    adds.append(entry.member)
            else:
                changed += 1
                adds.append(entry.member)
                if mirror:
                    lost = _lost_identifiers(old.to_member(), entry.member)
                    if lost is not None:
                        removes.append(lost)
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
        refreshed_members=len(refreshed_ids) if mode != "replace" else 0,
        adds=adds,
        removes=removes,
        replace_members=replace_members,
        refreshed_ids=refreshed_ids if mode != "replace" else set(),
    )


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
    """Is an unchanged member due to be sent again? Compares ISO dates as strings: it runs for every member."""

    def __init__(self, refresh_after_days: int | None, today: date | None, default_sent_on: str) -> None:
        self.enabled = bool(refresh_after_days) and today is not None
        if not self.enabled or refresh_after_days is None or today is None:
            return
        self.days = refresh_after_days
        self.today = today
        self.default = default_sent_on
        self.never_before = (today - timedelta(days=refresh_after_days / 2)).isoformat()  # younger: never due
        self.always_from = (today - timedelta(days=refresh_after_days)).isoformat()  # this old: always due

    def __call__(self, line: StateLine) -> bool:
        sent = line.sent_on or self.default
        if not sent or sent <= self.always_from:
            return True
        if sent > self.never_before:
            return False
        age = (self.today - date.fromisoformat(sent)).days
        # drawn anew for every upload (keyed by its date): a fixed draw per member would give each member a fixed
        # period, and days that many periods divide (day 180: periods 90 and 180) would come due together
        key = f"{line.customer_id}|{sent}".encode()
        spread = int(hashlib.sha256(key).hexdigest()[:8], 16) / 0x1_0000_0000
        return age >= self.days * (0.5 + 0.5 * spread)
