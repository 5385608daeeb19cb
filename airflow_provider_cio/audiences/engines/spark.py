"""Run definitions on Spark SQL (the engine under Databricks, Synapse Spark and Fabric).

The landed datasets are read by Spark itself from their Parquet files (by path, the way a cluster reads the landing
zone's ``abfss://`` paths; Hive-style ``dt=`` folders become a column when a base path is given), warehouse tables
by name from the session's catalog (``spark.table``) or from Parquet. The definition runs with named parameter
markers bound by ``spark.sql(args=...)``; its candidates come back through ``toLocalIterator`` (one partition at a
time in the driver) in bounded Arrow batches.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.audiences.engines.base import OutsideEngine
from airflow_provider_cio.audiences.engines.columns import Family
from airflow_provider_cio.audiences.engines.dbapi import WarehouseUnavailable, rows_to_batches, safe_error
from airflow_provider_cio.audiences.errors import AudienceDefinitionError, AudienceInputError
from airflow_provider_cio.audiences.inputs import AudienceInputs, TableSource, _is_arrow, _paths
from airflow_provider_cio.audiences.warehouse import WarehouseRelation

if TYPE_CHECKING:
    import pyarrow as pa


def spark_family(data_type: Any) -> Family | None:
    """The family of a Spark SQL type."""
    from pyspark.sql import types as T

    if isinstance(data_type, T.StringType | T.VarcharType | T.CharType):
        return "string"
    if isinstance(data_type, T.NumericType):
        return "number"
    if isinstance(data_type, T.BooleanType):
        return "bool"
    if isinstance(data_type, T.TimestampType | T.TimestampNTZType):
        return "timestamp"
    if isinstance(data_type, T.DateType):
        return "date"
    if isinstance(data_type, T.BinaryType):
        return "binary"
    return None


class SparkEngine(OutsideEngine):
    """Temp views in one ``SparkSession`` for one run (the session is the caller's: it is not stopped here)."""

    name = "spark"
    dialect = "spark"

    def __init__(
        self,
        inputs: AudienceInputs,
        spark: Any,
        *,
        types: Mapping[str, Mapping[str, str]] | None = None,
        batch_rows: int = 50_000,
    ) -> None:
        super().__init__(inputs, types=types)
        self.spark = spark
        self.batch_rows = batch_rows
        self._tmp = tempfile.TemporaryDirectory(prefix="cio-spark-")
        self._views: list[str] = []

    @property
    def paramstyle(self) -> Any:
        return "spark"

    def close(self) -> None:
        for view in self._views:
            self.spark.catalog.dropTempView(view)
        self._tmp.cleanup()

    def _register(self, name: str, frame: Any) -> None:
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def _load(self, name: str, schema: pa.Schema, batches: Any) -> None:
        """Arrow batches (an in-memory table, an empty landed dataset) through a local Parquet file."""
        import pyarrow.parquet as pq

        path = os.path.join(self._tmp.name, f"{name}.parquet")
        with pq.ParquetWriter(path, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
        self._register(name, self.spark.read.parquet(path))

    def _load_source(self, name: str, source: TableSource, *, landed: bool, drop: frozenset[str]) -> None:
        if _is_arrow(source) or (not isinstance(source, str | os.PathLike) and len(source) == 0):
            super()._load_source(name, source, landed=landed, drop=drop)
            return
        files = _paths(name, source)
        frame = self.spark.read.option("mergeSchema", "true").parquet(*files)
        keep = [c for c in frame.columns if c not in drop]
        self._register(name, frame.select(*keep))

    def _view(self, name: str, select_sql: str) -> None:
        self._register(name, self.spark.sql(select_sql))

    def _relation(self, name: str, relation: WarehouseRelation) -> None:
        try:
            frame = self.spark.table(relation.relation)
        except Exception as exc:
            raise WarehouseUnavailable(
                f"spark warehouse table {name!r} ({relation.describe()}): cannot read it "
                f"({type(exc).__name__}: {safe_error(exc)})"
            ) from None
        self._register(name, frame)

    def _describe(self, name: str) -> dict[str, Family | None]:
        return {f.name: spark_family(f.dataType) for f in self.spark.table(name).schema.fields}

    def _query(self, sql: str, params: Any, *, label: str) -> pa.RecordBatchReader:
        import pyarrow as pa

        from airflow_provider_cio.audiences.engines.dbapi import family_type

        try:
            frame = self.spark.sql(sql, args=params or None)
            names = frame.columns
            schema = pa.schema([(f.name, family_type(spark_family(f.dataType))) for f in frame.schema.fields])
            rows = (tuple(row) for row in frame.toLocalIterator(prefetchPartitions=False))
            batches = rows_to_batches(rows, names, schema, self.batch_rows)
            first = next(batches, None)
        except AudienceInputError:
            raise
        except Exception as exc:
            raise AudienceDefinitionError(
                f"{label}: query failed on spark: {type(exc).__name__}: {safe_error(exc)}"
            ) from None

        def all_batches() -> Any:
            if first is not None:
                yield first
                yield from batches

        return pa.RecordBatchReader.from_batches(schema, all_batches())
