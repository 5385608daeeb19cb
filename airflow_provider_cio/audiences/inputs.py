"""Where an audience build reads from: validated landing partitions and warehouse tables.

A source is a Parquet path, a glob, a list of paths, or an Arrow table. Landing partitions are fetched (verified
against their manifests) into a local work directory first, so DuckDB scans local Parquet out-of-core instead of
holding the data in memory. Every table and column a definition declares is checked before any query runs: a
missing one is an ``AudienceInputError`` that names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Union

from airflow_provider_cio.audiences.errors import AudienceInputError
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.storage.base import ObjectStore

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

TableSource = Union[str, os.PathLike[str], Sequence[str | os.PathLike[str]], "pa.Table"]
LANDED: Final[tuple[str, ...]] = ("people", "deliveries", "events")


@dataclass
class AudienceInputs:
    """Landed datasets (``people`` is required; the others only when a definition reads them) and warehouse tables
    by name (``orders`` with customer_id, order_id, amount, margin, ordered_at is what the reference set reads)."""

    people: TableSource
    deliveries: TableSource | None = None
    events: TableSource | None = None
    warehouse: Mapping[str, TableSource] = field(default_factory=dict)

    def landed(self) -> dict[str, TableSource | None]:
        return {"people": self.people, "deliveries": self.deliveries, "events": self.events}


def fetch_landing_inputs(
    store: ObjectStore, refs: Mapping[str, Sequence[PartitionRef]], dest_dir: Path
) -> dict[str, list[Path]]:
    """Download each dataset's partitions (verified part by part) under ``dest_dir``; dataset -> local paths.

    Reads only committed partitions (``PartitionNotFound`` if a manifest is missing); a partition with no rows
    contributes no file, and ``register_inputs`` then uses the dataset's empty schema.
    """
    from airflow_provider_cio.landing.reader import fetch_committed

    out: dict[str, list[Path]] = {}
    for dataset, dataset_refs in refs.items():
        paths: list[Path] = []
        for ref in dataset_refs:
            hour = f"-hr{ref.hr:02d}" if ref.hr is not None else ""
            target = dest_dir / dataset / f"dt={ref.dt.isoformat()}{hour}"
            target.mkdir(parents=True, exist_ok=True)
            # one whole generation, even when a rerun of that day commits during the download
            paths.extend(fetch_committed(store, ref, target)[1])
        out[dataset] = paths
    return out


def _is_arrow(source: Any) -> bool:
    return hasattr(source, "schema") and hasattr(source, "num_rows")


def _paths(name: str, source: Any) -> list[str]:
    if isinstance(source, str | os.PathLike):
        raw = [os.fspath(source)]
    else:
        raw = [os.fspath(p) for p in source]
    resolved: list[str] = []
    for path in raw:
        if any(ch in path for ch in "*?["):
            import glob

            matches = sorted(glob.glob(path))
            if not matches:
                raise AudienceInputError(f"input table {name!r}: no file matches {path!r}")
            resolved.extend(matches)
        elif os.path.isdir(path):
            matches = sorted(glob_parquet(path))
            if not matches:
                raise AudienceInputError(f"input table {name!r}: directory {path!r} holds no .parquet file")
            resolved.extend(matches)
        elif os.path.exists(path):
            resolved.append(path)
        else:
            raise AudienceInputError(f"input table {name!r}: file {path!r} does not exist")
    return resolved


def glob_parquet(directory: str) -> list[str]:
    return [str(p) for p in Path(directory).rglob("*.parquet")]


def register_table(con: duckdb.DuckDBPyConnection, name: str, source: Any, *, landed: bool = False) -> None:
    """Expose ``source`` as view ``name``. An empty list is an empty landed dataset (its canonical schema)."""
    if _is_arrow(source):
        con.register(name, source)
        return
    if not isinstance(source, str | os.PathLike) and len(source) == 0:
        if not landed:
            raise AudienceInputError(f"warehouse table {name!r} was given no files")
        from airflow_provider_cio.datasets import arrow_schema

        con.register(name, arrow_schema(name).empty_table())
        return
    files = _paths(name, source)
    listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(
        f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet([{listing}], union_by_name = true)'
    )


def table_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    return [row[0] for row in con.execute(f'DESCRIBE "{name}"').fetchall()]


def check_columns(con: duckdb.DuckDBPyConnection, table: str, needed: Sequence[str], *, role: str) -> None:
    """Raise ``AudienceInputError`` naming the table and the missing columns."""
    have = set(table_columns(con, table))
    missing = [c for c in needed if c not in have]
    if missing:
        raise AudienceInputError(
            f"{role} table {table!r} lacks column(s) {', '.join(missing)} (has: {', '.join(sorted(have))})"
        )
