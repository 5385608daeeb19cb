"""Warehouse access for the audience operators: Airflow's SQL hooks own the connections; the core only gets a
DB-API connection factory (``get_conn``), so it stays Airflow-free and works with any ``DbApiHook`` (Postgres,
Databricks SQL, Snowflake, MSSQL/Synapse, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.audiences.errors import AudienceDefinitionError

if TYPE_CHECKING:
    from airflow_provider_cio.audiences.engines.base import OutsideEngine
    from airflow_provider_cio.audiences.inputs import AudienceInputs
    from airflow_provider_cio.audiences.warehouse import WarehouseRelation

ENGINE_KEYS = ("engine", "conn_id", "spark_master", "spark_remote")
TABLE_KEYS = ("prefix", "conn_id", "table", "time_column", "lookback_days", "types", "dialect")


def dbapi_connect(conn_id: str) -> Callable[[], Any]:
    """``get_conn`` of the SQL hook behind ``conn_id``; resolved now (a missing connection or a non-SQL type fails
    here, as configuration), connected later, by the core, when it needs the warehouse."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    try:
        hook = BaseHook.get_hook(conn_id)
    except Exception as exc:
        raise AudienceDefinitionError(
            f"warehouse connection {conn_id!r} cannot be loaded ({type(exc).__name__}); define it in Airflow "
            "(its provider installed: apache-airflow-providers-postgres, -databricks, -snowflake, ...)"
        ) from None
    if not isinstance(hook, DbApiHook):
        raise AudienceDefinitionError(
            f"warehouse connection {conn_id!r} is of type {type(hook).__name__}, not a SQL (DbApiHook) connection"
        )
    return hook.get_conn


def warehouse_relation(name: str, spec: Mapping[str, Any]) -> WarehouseRelation:
    """A ``WarehouseRelation`` from the operator's/config's table spec (``table`` required, ``conn_id`` when the
    embedded engine must read it)."""
    from airflow_provider_cio.audiences.warehouse import WarehouseRelation

    unknown = sorted(set(spec) - set(TABLE_KEYS))
    if unknown or "table" not in spec:
        raise AudienceDefinitionError(
            f"warehouse table {name!r}: give 'table' (and 'conn_id' to read it into the embedded engine); "
            f"unknown key(s) {unknown}; known: {list(TABLE_KEYS)}"
        )
    conn_id = spec.get("conn_id")
    return WarehouseRelation(
        relation=str(spec["table"]),
        connect=dbapi_connect(str(conn_id)) if conn_id else None,
        time_column=spec.get("time_column"),
        lookback_days=spec.get("lookback_days"),
        types=dict(spec.get("types") or {}),
        label=f"{conn_id}:{spec['table']}" if conn_id else str(spec["table"]),
        dialect=str(spec.get("dialect", "postgres")),
    )


def warehouse_sources(tables: Mapping[str, str | Mapping[str, Any]]) -> dict[str, str | WarehouseRelation]:
    """The operators' ``warehouse`` argument as core sources: a Blob prefix (a string, or ``{prefix}``) stays a
    string, ``{table, conn_id, ...}`` becomes a ``WarehouseRelation`` (its connection resolved now)."""
    out: dict[str, str | WarehouseRelation] = {}
    for name, spec in tables.items():
        if isinstance(spec, str):
            out[name] = spec
        elif "prefix" in spec:
            out[name] = str(spec["prefix"])
        else:
            out[name] = warehouse_relation(name, spec)
    return out


def outside_engine(spec: Mapping[str, Any] | None) -> Callable[[AudienceInputs], OutsideEngine] | None:
    """A factory of the run's outside engine from ``{engine, conn_id | spark_master | spark_remote}``; ``None`` for
    the embedded default (``engine: duckdb`` or no spec)."""
    spec = dict(spec or {})
    unknown = sorted(set(spec) - set(ENGINE_KEYS))
    engine = spec.get("engine", "duckdb")
    if unknown or engine not in ("duckdb", "postgres", "spark"):
        raise AudienceDefinitionError(
            f"audience engine {engine!r} (keys {sorted(spec)}): engine is one of duckdb, postgres, spark; "
            f"known keys {list(ENGINE_KEYS)}"
        )
    if engine == "duckdb":
        return None
    if engine == "postgres":
        if not spec.get("conn_id"):
            raise AudienceDefinitionError("audience engine postgres needs conn_id (a Postgres connection)")
        connect = dbapi_connect(str(spec["conn_id"]))

        def postgres(inputs: AudienceInputs) -> OutsideEngine:
            from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

            return PostgresEngine(inputs, connect)

        return postgres

    def spark(inputs: AudienceInputs) -> OutsideEngine:
        from pyspark.sql import SparkSession

        from airflow_provider_cio.audiences.engines.spark import SparkEngine

        builder = SparkSession.builder.appName("cio-audiences").config("spark.sql.session.timeZone", "UTC")
        if spec.get("spark_remote"):
            builder = builder.remote(str(spec["spark_remote"]))  # Spark Connect (sc://host:15002)
        else:
            import tempfile

            builder = (
                builder.master(str(spec.get("spark_master", "local[2]")))
                .config("spark.ui.enabled", "false")
                .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="cio-spark-warehouse-"))
            )
        return SparkEngine(inputs, builder.getOrCreate())

    return spark
