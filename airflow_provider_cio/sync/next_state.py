"""The membership after a run, as the state's Arrow columns, from the plan's join (``sync.diff``).

The snapshot's members the platform applied are stored, dated ``today`` when sent and keeping their upload date when
unchanged; members it did not apply stay as they were before (or absent; always absent when a replace cleared them);
departed members stay only where nothing removed them (upsert, a replace with no sweep). Kept rows are taken from
the stored table and new rows from the snapshot's columns: no Python step per member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_cio.sync.state import RESEND_SENT_ON, STATE_COLUMNS

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from airflow_provider_cio.sync.diff import Diff
    from airflow_provider_cio.sync.snapshot import Snapshot


def next_state(
    snapshot: Snapshot,
    diff: Diff,
    *,
    sent: set[str] | None,
    unapplied: set[str],
    departed_kept: bool,
    unapplied_absent: bool,
    today: str,
    default_sent_on: str,
    resend: set[str] | None = None,
) -> tuple[pa.Table, str]:
    """The new state table (sorted by customer_id) and its earliest ``sent_on`` ("" when empty).

    ``sent``: customer ids this run uploaded (None: all of them, a replace); ``resend``: members stored with
    ``RESEND_SENT_ON``, so the next run sends them again."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = snapshot.keys
    old = diff.old
    matched = diff.position >= 0
    failed = _members_of(keys.column("customer_id"), unapplied)
    keep_prior = matched & failed & (not unapplied_absent)
    if sent is not None:
        not_sent = ~_members_of(keys.column("customer_id"), sent)
        keep_prior |= matched & ~failed & not_sent & diff.unchanged
    fresh = ~failed & ~keep_prior
    same = keep_prior & diff.unchanged  # stored row == snapshot row but for its date: take the snapshot's
    stored_sent = pc.take(old.column("sent_on"), pa.array(diff.position, mask=~same))
    if default_sent_on:
        stored_sent = pc.if_else(
            pc.equal(stored_sent, ""), pa.scalar(default_sent_on, pa.string()), stored_sent
        )
    sent_on = pc.fill_null(stored_sent, today)  # the rows this run sent
    if resend:
        marked = _members_of(keys.column("customer_id"), resend) & (fresh | same)
        sent_on = pc.if_else(pa.array(marked), pa.scalar(RESEND_SENT_ON, pa.string()), sent_on)
    from_snapshot = fresh | same
    rows = keys.select(["customer_id", "fingerprint", "consent"])
    rows = rows.append_column("sent_on", sent_on).append_column(
        "ids_json", _identifiers(snapshot, diff, fresh, same)
    )
    table = rows if from_snapshot.all() else rows.filter(pa.array(from_snapshot))
    departed = diff.departed & (departed_kept | _members_of(old.column("customer_id"), unapplied))
    old_rows = np.concatenate([diff.position[keep_prior & ~diff.unchanged], departed.nonzero()[0]])
    if len(old_rows):  # rows only the stored state has: merged in customer_id order
        kept = old.select(list(STATE_COLUMNS)).take(pa.array(old_rows, type=pa.int64()))
        kept_sent = kept.column("sent_on")
        if default_sent_on:
            kept_sent = pc.if_else(
                pc.equal(kept_sent, ""), pa.scalar(default_sent_on, pa.string()), kept_sent
            )
        kept = kept.set_column(STATE_COLUMNS.index("sent_on"), "sent_on", kept_sent)
        table = pa.concat_tables([table.cast(kept.schema), kept]).sort_by("customer_id")
    dates = pc.filter(table.column("sent_on"), pc.not_equal(table.column("sent_on"), ""))
    oldest = pc.min(dates).as_py() if len(dates) else ""
    return table, oldest or ""


def _identifiers(snapshot: Snapshot, diff: Diff, fresh: np.ndarray, same: np.ndarray) -> pa.Array:
    """The identifiers JSON of every snapshot row stored: the snapshot's own where it has the column (a
    ``MemberTable``); else the stored JSON of unchanged rows and ``identifiers_json`` of the rows stored anew."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from airflow_provider_cio.sync.snapshot import identifiers_json

    if "ids_json" in snapshot.keys.column_names:
        return snapshot.keys.column("ids_json")
    stored = pc.take(diff.old.column("ids_json"), pa.array(diff.position, mask=~same))
    rows = fresh.nonzero()[0].tolist()
    if not rows:
        return stored
    texts = [identifiers_json(m.identifiers) for m in snapshot.members_at(rows)]
    return pc.replace_with_mask(stored, pa.array(fresh), pa.array(texts, type=pa.string()))


def _members_of(column: pa.ChunkedArray | pa.Array, ids: set[str]) -> np.ndarray:
    """Which rows of ``column`` hold one of ``ids`` (a small set: what one run sent or failed)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not ids:
        return np.zeros(len(column), dtype=bool)
    found = pc.is_in(column, value_set=pa.array(sorted(ids), type=pa.string()))
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
