"""Audience members as Arrow columns: what an audience snapshot already is on disk, so a sync need not build a million
``Member`` objects to find the thousand it sends.

A ``MemberTable`` holds ``customer_id`` (string), one ``list<string>`` column per identifier kind and, optionally, a
boolean ``consent`` column (absent: every member consents). It iterates as ``Member``s (kinds whose list is empty
or null are left out, rows with no identifier at all are skipped), so every caller that takes members takes it;
``Snapshot.from_members`` recognises it and fingerprints, sorts and diffs in columns instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from airflow_provider_cio.audiences.member import Member

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 64 * 1024


class MemberTable:
    """Members in columns; ``kinds`` maps an identifier kind to its list column (e.g. ``email`` -> ``meta_email``)."""

    def __init__(self, table: pa.Table, kinds: Mapping[str, str], consent: str | None = None) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not kinds:
            raise ValueError("a member table needs at least one identifier column")
        columns = {"customer_id": table.column("customer_id").cast(pa.string())}
        for kind in sorted(kinds):
            columns[kind] = table.column(kinds[kind]).cast(pa.list_(pa.string()))
        if consent is not None:
            columns["consent"] = pc.fill_null(table.column(consent).cast(pa.bool_()), True)
        out = pa.table(columns)
        has_any = None
        for kind in self_kinds(out):
            present = pc.fill_null(pc.greater(pc.list_value_length(out.column(kind)), 0), False)
            has_any = present if has_any is None else pc.or_(has_any, present)
        self.table: pa.Table = out.filter(has_any).combine_chunks()  # one chunk: takes stay cheap

    @property
    def kinds(self) -> list[str]:
        return self_kinds(self.table)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __iter__(self) -> Iterator[Member]:
        for batch in self.table.to_batches(max_chunksize=BATCH_ROWS):
            yield from rows_as_members(batch, self.kinds)

    def members_at(self, rows: Sequence[int]) -> list[Member]:
        """The ``Member``s of the given row positions, in that order."""
        import pyarrow as pa

        if not len(rows):
            return []
        picked = self.table.take(pa.array(rows, type=pa.int64()))
        out: list[Member] = []
        for batch in picked.to_batches(max_chunksize=BATCH_ROWS):
            out.extend(rows_as_members(batch, self.kinds))
        return out


def self_kinds(table: pa.Table) -> list[str]:
    """The identifier kinds of a member table: every column but ``customer_id`` and ``consent``."""
    return [name for name in table.column_names if name not in ("customer_id", "consent")]


def rows_as_members(batch: pa.RecordBatch | pa.Table, kinds: Sequence[str]) -> Iterator[Member]:
    """One ``Member`` per row; kinds with an empty or null list are left out (rows without any are skipped)."""
    ids = batch.column("customer_id").to_pylist()
    values = [batch.column(kind).to_pylist() for kind in kinds]
    names = batch.schema.names if hasattr(batch, "schema") else []
    consents = batch.column("consent").to_pylist() if "consent" in names else None
    for row, customer_id in enumerate(ids):
        identifiers = {kind: tuple(col[row]) for kind, col in zip(kinds, values, strict=True) if col[row]}
        if identifiers:
            consent = True if consents is None else bool(consents[row])
            yield Member(customer_id=customer_id, identifiers=identifiers, consent=consent)
