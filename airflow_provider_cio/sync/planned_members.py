"""The members a plan adds or replaces, as snapshot positions: ``Member`` objects are built only when something reads
them (a batch being sent), a chunk at a time, from the snapshot's column table.

A dry run or a guard check reads only counts; a first sync of 692k members spent about 4 s building objects nobody
read. Sending builds each member once, as before, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from airflow_provider_cio.sync.destination import Member

if TYPE_CHECKING:
    import numpy as np

    from airflow_provider_cio.sync.snapshot import Snapshot

CHUNK_ROWS = 16 * 1024  # members built per step when iterated


class PlannedMembers(Sequence[Member]):
    """The snapshot's members at ``positions`` (sorted snapshot rows), in that order; equal to any sequence of the
    same members."""

    def __init__(self, snapshot: Snapshot, positions: np.ndarray) -> None:
        self._snapshot = snapshot
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, index: int) -> Member: ...

    @overload
    def __getitem__(self, index: slice) -> list[Member]: ...

    def __getitem__(self, index: int | slice) -> Member | list[Member]:
        if isinstance(index, slice):
            return self._snapshot.members_at(self._positions[index].tolist())
        return self._snapshot.members_at([int(self._positions[index])])[0]  # numpy raises IndexError

    def __iter__(self) -> Iterator[Member]:
        for start in range(0, len(self._positions), CHUNK_ROWS):
            yield from self._snapshot.members_at(self._positions[start : start + CHUNK_ROWS].tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PlannedMembers({len(self)} members)"

    def customer_ids(self) -> set[str]:
        """The customer ids, read from the snapshot's keys (no ``Member`` built)."""
        import pyarrow as pa

        if not len(self._positions):
            return set()
        cids = self._snapshot.keys.column("customer_id")
        taken: Any = cids.take(pa.array(self._positions, type=pa.int64()))
        return set(taken.to_pylist())
