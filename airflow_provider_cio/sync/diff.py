"""The join of a snapshot and the last synced state, on customer_id, in Arrow: which members are new, changed,
unchanged or departed. One hash lookup of a million keys and a few vectorised comparisons; the plan reads what to
send from it, and the next state is written from it without reading the old state a second time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_cio.sync.destination import Member

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from airflow_provider_cio.sync.snapshot import Snapshot


@dataclass(frozen=True)
class Diff:
    """Per snapshot row: ``position`` of its stored row (-1: none) and the new / changed / unchanged masks; per
    stored row: ``departed``. ``old`` is the stored state (``state.STATE_COLUMNS``)."""

    old: pa.Table
    position: np.ndarray
    new: np.ndarray
    changed: np.ndarray
    unchanged: np.ndarray
    departed: np.ndarray

    def old_members(self, rows: Sequence[int]) -> list[Member]:
        """The stored members at these rows (their identifiers decoded), for removals."""
        import pyarrow as pa

        if not len(rows):
            return []
        picked = self.old.select(["customer_id", "consent", "ids_json"]).take(pa.array(rows, type=pa.int64()))
        cids, consents, texts = (picked.column(i).to_pylist() for i in range(3))
        decoded = json.loads("[" + ",".join(texts) + "]")  # one parse for all rows, not one call per row
        return [
            Member(
                customer_id=cid,
                identifiers={kind: tuple(values) for kind, values in ids.items()},
                consent=bool(consent),
            )
            for cid, consent, ids in zip(cids, consents, decoded, strict=True)
        ]


def diff_against(snapshot: Snapshot, old: pa.Table) -> Diff:
    """Join ``snapshot`` (its ``keys``) with the stored rows ``old`` on customer_id; equal fingerprints are
    unchanged members."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from airflow_provider_cio.sync.snapshot import positions_in

    keys = snapshot.keys
    n = keys.num_rows
    if old.num_rows == 0 or n == 0:
        position = np.full(n, -1, dtype=np.int64)
        same = np.zeros(n, dtype=bool)
    else:
        if snapshot.joined is not None and snapshot.joined[0] is old:  # joined once already, to borrow
            position = snapshot.joined[1]
            found = pa.array(position, mask=position < 0)
        else:
            position = positions_in(keys.column("customer_id"), old.column("customer_id"))
            found = pa.array(position, mask=position < 0)
        stored_fp = pc.take(old.column("fingerprint"), found)
        same = _bools(pc.fill_null(pc.equal(stored_fp, keys.column("fingerprint")), False))
    matched = position >= 0
    departed = np.ones(old.num_rows, dtype=bool)
    departed[position[matched]] = False
    return Diff(
        old=old if isinstance(old, pa.Table) else pa.table(old),
        position=position,
        new=~matched,
        changed=matched & ~same,
        unchanged=matched & same,
        departed=departed,
    )


def _bools(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    import numpy as np

    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)
