"""Warehouse tables read through a DB-API connection (any Airflow SQL connection's ``get_conn``).

A ``WarehouseRelation`` names a table or view in the team's warehouse. An outside engine (PostgreSQL, Spark) that
runs in that warehouse reads it in place. The embedded engine (DuckDB) gets it through ``materialize_relations``:
only the columns the run's definitions declare, only rows before the as-of time (and after the relation's lookback,
when it has one), streamed in bounded batches into a local Parquet file that DuckDB then scans out-of-core. Before
the read, the columns and their types are checked against the declaration, so a missing column, a wrong type or a
failing connection fails here, naming the table and the column, instead of inside an audience query.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from airflow_provider_cio.audiences.errors import AudienceDefinitionError, AudienceInputError

if TYPE_CHECKING:
    from airflow_provider_cio.audiences.definitions import AudienceDefinition
    from airflow_provider_cio.audiences.inputs import AudienceInputs

log = logging.getLogger(__name__)
_RELATION: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")


@dataclass(frozen=True)
class WarehouseRelation:
    """A table or view in the warehouse (``schema.table``, or ``catalog.schema.table``).

    ``connect`` (a DB-API connection factory) is needed only by the embedded engine, which reads the relation;
    ``time_column`` bounds the read to rows before the as-of time and, with ``lookback_days``, after it minus that
    many days; ``types`` declares column families for a table we do not know (``orders`` is known)."""

    relation: str
    connect: Any = None
    time_column: str | None = None
    lookback_days: int | None = None
    types: Mapping[str, str] = field(default_factory=dict)
    label: str = ""
    dialect: str = (
        "postgres"  # sqlglot's name of the warehouse's SQL dialect: postgres, databricks, tsql, snowflake
    )

    def __post_init__(self) -> None:
        if not _RELATION.match(self.relation):
            raise AudienceDefinitionError(
                f"warehouse relation {self.relation!r}: use [catalog.]schema.table with plain identifiers"
            )
        if self.lookback_days is not None and self.lookback_days < 1:
            raise AudienceDefinitionError(f"warehouse relation {self.relation!r}: lookback_days must be >= 1")

    def describe(self) -> str:
        return self.label or self.relation


def _quote(relation: str) -> str:
    return ".".join(f'"{part}"' for part in relation.split("."))


def needed_columns(definitions: Sequence[AudienceDefinition], table: str) -> list[str]:
    """Columns of ``table`` any of ``definitions`` declares, in first-declared order."""
    out: dict[str, None] = {}
    for definition in definitions:
        out.update(dict.fromkeys(definition.requires.get(table, ())))
    return list(out)


def read_window(
    definitions: Sequence[AudienceDefinition],
    table: str,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[str, int | None] | None:
    """The rows of ``table`` the run's definitions can see, from their declared ``windows``: (time column, days
    back or None for all history before as_of); None when a reader declares no window or two disagree on the
    column (then the relation's own ``time_column``/``lookback_days`` apply)."""
    readers = [d for d in definitions if table in d.requires]
    windows = [w for d in readers if (w := d.windows.get(table)) is not None]
    if not readers or len(windows) != len(readers) or len({w.column for w in windows}) != 1:
        return None
    days = [
        w.lookback(d.resolve((parameters or {}).get(d.name))) for d, w in zip(readers, windows, strict=True)
    ]
    bounded = [d for d in days if d is not None]
    return windows[0].column, (max(bounded) if len(bounded) == len(days) else None)


def read_relation(
    name: str,
    relation: WarehouseRelation,
    columns: Sequence[str],
    *,
    as_of: datetime,
    dest: Path,
    batch_rows: int = 50_000,
) -> Path:
    """Stream ``columns`` of ``relation`` (within its time window) into one Parquet file at ``dest``.

    Memory holds one batch at a time (``fetchmany`` on a server-side cursor where the driver has one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from airflow_provider_cio.audiences.engines.columns import check_table, expected_types
    from airflow_provider_cio.audiences.engines.dbapi import (
        WarehouseUnavailable,
        description_families,
        family_type,
        open_connection,
        paramstyle,
        query_batches,
        safe_error,
    )
    from airflow_provider_cio.audiences.engines.dialect import translate

    if relation.connect is None:
        raise AudienceDefinitionError(
            f"warehouse table {name!r} ({relation.describe()}): no connection to read it with"
        )
    wanted = list(dict.fromkeys([*columns, *([relation.time_column] if relation.time_column else [])]))
    if not wanted:
        raise AudienceDefinitionError(f"warehouse table {name!r}: no definition declares a column of it")
    where = f"warehouse table {name!r} ({relation.describe()})"
    connection = open_connection(relation.connect, what=where)
    try:
        probe = connection.cursor()
        try:
            probe.execute(f"SELECT * FROM {_quote(relation.relation)} WHERE 1 = 0")
            have = description_families(connection, probe.description or ())
        except Exception as exc:
            raise WarehouseUnavailable(
                f"{where}: cannot read it ({type(exc).__name__}: {safe_error(exc)}); check that it exists and "
                "that the connection's user may select from it"
            ) from None
        finally:
            probe.close()
        expected = expected_types(name, relation.types)
        if relation.time_column:
            expected.setdefault(relation.time_column, "timestamp")
        check_table(name, have, wanted, expected, where=f"warehouse ({relation.describe()})")
        clauses, values = [], {"as_of": as_of}
        if relation.time_column:
            clauses.append(f'"{relation.time_column}" < $as_of')
            if relation.lookback_days:
                clauses.append(f'"{relation.time_column}" >= $since')
                values["since"] = as_of - timedelta(days=relation.lookback_days)
        select = ", ".join(f'"{c}"' for c in wanted)
        sql = f"SELECT {select} FROM {_quote(relation.relation)}" + (
            f" WHERE {' AND '.join(clauses)}" if clauses else ""
        )
        # written in DuckDB's dialect, quoted and placeholders re-written for the warehouse's own
        translated = translate(sql, relation.dialect, paramstyle(connection))  # type: ignore[arg-type]
        schema = pa.schema([(c, family_type(expected.get(c) or have.get(c))) for c in wanted])
        rows = 0
        dest.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(dest, schema, compression="zstd") as writer:
            try:
                for batch in query_batches(
                    connection,
                    translated.sql,
                    translated.bind(values) if translated.order else None,
                    label=f"cio_read_{name}",
                    schema=schema,
                    batch_rows=batch_rows,
                ):
                    writer.write_batch(batch)
                    rows += batch.num_rows
            except AudienceInputError:
                raise
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise AudienceInputError(
                    f"{where}: a value does not fit its declared type ({safe_error(exc)})"
                ) from None
            except Exception as exc:
                raise WarehouseUnavailable(
                    f"{where}: the read failed ({type(exc).__name__}: {safe_error(exc)})"
                ) from None
    finally:
        connection.close()
    log.info("warehouse table %s (%s): %d rows, columns %s", name, relation.describe(), rows, wanted)
    return dest


def materialize_relations(
    inputs: AudienceInputs,
    definitions: Sequence[AudienceDefinition],
    *,
    as_of: datetime,
    work_dir: Path,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> AudienceInputs:
    """``inputs`` with every ``WarehouseRelation`` read into a local Parquet file (for the embedded engine): the
    columns the definitions declare, the rows their windows cover (else the relation's own window)."""
    from dataclasses import replace

    warehouse: dict[str, Any] = {}
    for name, source in inputs.warehouse.items():
        if isinstance(source, WarehouseRelation):
            columns = needed_columns(definitions, name)
            if not columns:
                continue  # no definition of this run reads it
            window = read_window(definitions, name, parameters)
            if window is not None:
                source = replace(source, time_column=window[0], lookback_days=window[1])
            warehouse[name] = str(
                read_relation(
                    name, source, columns, as_of=as_of, dest=work_dir / "warehouse" / f"{name}.parquet"
                )
            )
        else:
            warehouse[name] = source
    return replace(inputs, warehouse=warehouse)
