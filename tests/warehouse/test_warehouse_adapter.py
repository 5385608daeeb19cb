"""The Airflow side: a warehouse table and the PostgreSQL engine reached through an Airflow connection
(``AIRFLOW_CONN_*``, the postgres provider's hook), and what a wrong connection or engine setting says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_warehouse_engines import HOLDOUT, load_orders
from warehouse_data import Landed, write_landed

from airflow_provider_cio.audiences import AudienceDefinitionError, snapshot_audiences
from airflow_provider_cio.hooks.warehouse import outside_engine, warehouse_relation
from airflow_provider_cio.storage import MemoryObjectStore

AUDIENCES = ["suppress_recent_purchasers", "viewed_twice_no_purchase"]


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Landed:
    return write_landed(tmp_path_factory.mktemp("landed"), people=400)


@pytest.fixture
def connections(postgres: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AIRFLOW_CONN_CIO_WAREHOUSE", postgres.uri)
    monkeypatch.setenv(
        "AIRFLOW_CONN_NOT_SQL",
        json.dumps({"conn_type": "wasb", "host": "http://127.0.0.1:1/devstoreaccount1"}),
    )
    yield


def test_the_same_audiences_through_airflow_connections_on_each_engine(
    connections: None, postgres: Any, landed: Landed
) -> None:
    load_orders(postgres, landed.orders, "sales.orders_adapter")
    spec = {"table": "sales.orders_adapter", "conn_id": "cio_warehouse", "time_column": "ordered_at"}
    runs = {
        "duckdb_from_parquet": (landed.inputs(), None),
        "duckdb_via_connection": (landed.inputs({"orders": warehouse_relation("orders", spec)}), None),
        "postgres": (
            landed.inputs({"orders": warehouse_relation("orders", {"table": "sales.orders_adapter"})}),
            outside_engine({"engine": "postgres", "conn_id": "cio_warehouse"}),
        ),
    }
    sizes = {}
    for run, (inputs, outside) in runs.items():
        store = MemoryObjectStore()
        results = snapshot_audiences(
            store,
            env="dev",
            workspace="ws",
            inputs=inputs,
            audiences=AUDIENCES,
            as_of=landed.as_of,
            holdout=HOLDOUT,
            outside=outside,
        )
        assert {r["engine"] for r in results.values()} == {"postgres" if run == "postgres" else "duckdb"}
        sizes[run] = {name: results[name]["size"] for name in AUDIENCES}
    assert sizes["duckdb_from_parquet"]["suppress_recent_purchasers"] > 0
    assert sizes["duckdb_via_connection"] == sizes["duckdb_from_parquet"] == sizes["postgres"]


def test_a_wrong_connection_or_engine_is_a_configuration_error(connections: None) -> None:
    cases = [
        (lambda: warehouse_relation("orders", {"table": "sales.orders", "conn_id": "not_sql"}), "not a SQL"),
        (
            lambda: warehouse_relation("orders", {"table": "sales.orders", "conn_id": "no_such_conn"}),
            "no_such_conn",
        ),
        (lambda: warehouse_relation("orders", {"conn_id": "cio_warehouse"}), "'table'"),
        (lambda: warehouse_relation("orders", {"table": "x; DROP TABLE y"}), "plain identifiers"),
        (lambda: outside_engine({"engine": "snowflake"}), "duckdb, postgres, spark"),
        (lambda: outside_engine({"engine": "postgres"}), "conn_id"),
    ]
    for make, words in cases:
        with pytest.raises(AudienceDefinitionError) as raised:
            make()
        assert raised.value.error_class == "configuration"
        assert words in str(raised.value)
    assert outside_engine({"engine": "duckdb"}) is None and outside_engine(None) is None


def test_the_spark_engine_from_its_config_builds_the_same_audience(spark: Any, landed: Landed) -> None:
    """``outside_engine`` builds on the running session (getOrCreate) with the config's master."""
    factory = outside_engine({"engine": "spark", "spark_master": "local[2]"})
    assert factory is not None
    sizes = {}
    for name, outside in (("duckdb", None), ("spark", factory)):
        results = snapshot_audiences(
            MemoryObjectStore(),
            env="dev",
            workspace="ws",
            inputs=landed.inputs(),
            audiences=["engaged_clickers_14d"],
            as_of=landed.as_of,
            outside=outside,
        )
        assert results["engaged_clickers_14d"]["engine"] == name
        sizes[name] = results["engaged_clickers_14d"]["size"]
    assert sizes["spark"] == sizes["duckdb"] > 0
