"""What every outside engine (PostgreSQL, Spark SQL) does the same way: expose the run's inputs under the names the
definitions use, check declared columns and their types before any query, translate and run the definition with its
parameters bound, and hand back only the candidates (customer id and the definition's outputs) in bounded batches.

Everything after the candidates (exclusions, holdout, identity hashing, the audience gate, the sync) stays in the
embedded engine and does not change: an outside engine never sees an email or a phone. Landed ``people`` is
exposed without its identifier columns; a definition that asks for one fails before any query runs.
"""

from __future__ import annotations

import abc
import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from airflow_provider_cio.audiences.definitions import AudienceDefinition
from airflow_provider_cio.audiences.engines.columns import Family, check_table, expected_types
from airflow_provider_cio.audiences.engines.dialect import Dialect, ParamStyle, translate
from airflow_provider_cio.audiences.errors import AudienceInputError
from airflow_provider_cio.audiences.identifiers import PEOPLE_COLUMNS
from airflow_provider_cio.audiences.inputs import LANDED, AudienceInputs, TableSource
from airflow_provider_cio.audiences.warehouse import WarehouseRelation

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

PII_COLUMNS: Final = frozenset(PEOPLE_COLUMNS.values()) - {"country"}
ENGINES: Final[tuple[str, ...]] = ("duckdb", "postgres", "spark")


def arrow_batches(name: str, source: TableSource, *, landed: bool, drop: frozenset[str] = frozenset()) -> Any:
    """(schema, batch iterator) of a local source: Parquet files read batch by batch, or an Arrow table."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from airflow_provider_cio.audiences.inputs import _is_arrow, _paths

    if _is_arrow(source):
        table: pa.Table = source  # type: ignore[assignment]
        table = table.drop_columns([c for c in table.column_names if c in drop])
        return table.schema, iter(table.to_batches(max_chunksize=50_000))
    if not isinstance(source, str | os.PathLike) and len(source) == 0:
        if not landed:
            raise AudienceInputError(f"warehouse table {name!r} was given no files")
        from airflow_provider_cio.datasets import arrow_schema

        schema = arrow_schema(name)
        schema = pa.schema([f for f in schema if f.name not in drop])
        return schema, iter(())
    dataset = ds.dataset(_paths(name, source), format="parquet")
    columns = [c for c in dataset.schema.names if c not in drop]
    schema = pa.schema([dataset.schema.field(c) for c in columns])
    return schema, dataset.to_batches(columns=columns, batch_size=50_000)


def deliveries_view_sql(deliveries: Sequence[str], people: Sequence[str]) -> str:
    """Deliveries with ``customer_id`` filled from people's ``internal_customer_id`` (data-out rows carry only
    that): the embedded engine's rule, written in portable SQL (DuckDB dialect, transpiled per engine)."""
    if not ({"customer_id", "internal_customer_id"} <= set(deliveries) and "internal_customer_id" in people):
        return "SELECT * FROM landed_deliveries"
    cols = ", ".join(
        "coalesce(d.customer_id, i.customer_id) AS customer_id" if c == "customer_id" else f'd."{c}"'
        for c in deliveries
    )
    return (
        f"SELECT {cols} FROM landed_deliveries d LEFT JOIN ("
        "SELECT internal_customer_id, min(customer_id) AS customer_id FROM landed_people "
        "WHERE internal_customer_id IS NOT NULL AND customer_id IS NOT NULL GROUP BY internal_customer_id "
        "HAVING count(DISTINCT customer_id) = 1) i "
        "ON d.customer_id IS NULL AND i.internal_customer_id = d.internal_customer_id"
    )


class OutsideEngine(abc.ABC):
    """One run's session on an outside engine; use as a context manager. Subclasses say how a table is loaded,
    viewed and described, and how a query runs."""

    name: str = "outside"
    dialect: Dialect
    batch_rows: int = 50_000

    def __init__(
        self, inputs: AudienceInputs, *, types: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        self.inputs = inputs
        self.types = {k: dict(v) for k, v in (types or {}).items()}
        self._exposed: dict[str, dict[str, Family | None]] = {}

    # -- what a subclass provides --------------------------------------------------------------------------------
    @abc.abstractmethod
    def _load(self, name: str, schema: pa.Schema, batches: Any) -> None:
        """Create table ``name`` from Arrow batches."""

    def _load_source(self, name: str, source: TableSource, *, landed: bool, drop: frozenset[str]) -> None:
        schema, batches = arrow_batches(name, source, landed=landed, drop=drop)
        self._load(name, schema, batches)

    @abc.abstractmethod
    def _view(self, name: str, select_sql: str) -> None:
        """Create view ``name`` over ``select_sql`` (already in this engine's dialect)."""

    @abc.abstractmethod
    def _relation(self, name: str, relation: WarehouseRelation) -> None:
        """Expose a table that already lives in this engine under ``name``."""

    @abc.abstractmethod
    def _describe(self, name: str) -> dict[str, Family | None]:
        """Column -> family of table or view ``name``."""

    @abc.abstractmethod
    def _query(self, sql: str, params: Any, *, label: str) -> pa.RecordBatchReader:
        """Run ``sql`` with bound ``params``; the result in bounded batches."""

    @property
    @abc.abstractmethod
    def paramstyle(self) -> ParamStyle: ...

    def close(self) -> None:  # noqa: B027 - optional
        """Release the session."""

    def __enter__(self) -> OutsideEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- shared --------------------------------------------------------------------------------------------------
    def _expose(self, table: str) -> dict[str, Family | None]:
        if table in self._exposed:
            return self._exposed[table]
        if table in LANDED:
            self._expose_landed(table)
        else:
            source = self.inputs.warehouse.get(table)
            if source is None:
                raise AudienceInputError(f"warehouse table {table!r} was not given to the build")
            if isinstance(source, WarehouseRelation):
                self._relation(table, source)
            else:
                self._load_source(table, source, landed=False, drop=frozenset())
        self._exposed[table] = self._describe(table)
        return self._exposed[table]

    def _expose_landed(self, table: str) -> None:
        landed = self.inputs.landed()
        source = landed.get(table)
        if source is None:
            raise AudienceInputError(f"landed dataset {table!r} was not given to the build")
        if table == "deliveries":
            self._expose_landed("people")
            self._load_source("landed_deliveries", source, landed=True, drop=frozenset())
            view = deliveries_view_sql(
                list(self._describe("landed_deliveries")), list(self._describe("landed_people"))
            )
            self._view("deliveries", translate(view, self.dialect, self.paramstyle).sql)
        elif table == "people":
            if "landed_people" not in self._exposed:
                self._load_source("landed_people", source, landed=True, drop=PII_COLUMNS)
                self._exposed["landed_people"] = self._describe("landed_people")
            self._view("people", "SELECT * FROM landed_people")
        else:
            self._load_source(table, source, landed=True, drop=frozenset())

    def check(self, definition: AudienceDefinition) -> None:
        """Every declared table exists here with its declared columns of the expected families; else
        ``AudienceInputError`` naming the table and the column (before any query of the definition runs)."""
        for table, columns in definition.requires.items():
            if table == "people":
                private = sorted(set(columns) & PII_COLUMNS)
                if private:
                    raise AudienceInputError(
                        f"audience {definition.name} reads people column(s) {', '.join(private)}: identifiers "
                        f"never leave the embedded engine; run it on duckdb"
                    )
            have = self._expose(table)
            role = "landed" if table in LANDED else "warehouse"
            check_table(
                table,
                have,
                columns,
                expected_types(table, self.types.get(table)),
                where=f"{self.name} {role}",
            )

    def candidates(self, definition: AudienceDefinition, values: Mapping[str, Any]) -> pa.RecordBatchReader:
        """The definition's rows (its ``outputs`` only), parameters bound by the engine."""
        self.check(definition)
        outputs = ", ".join(f'q."{c}"' for c in definition.outputs)
        sql = f"SELECT {outputs} FROM ({definition.sql}) q WHERE q.customer_id IS NOT NULL"
        translated = translate(sql, self.dialect, self.paramstyle)
        return self._query(translated.sql, translated.bind(dict(values)), label=f"cio_{definition.name}")
