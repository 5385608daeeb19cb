"""The ``warehouse`` section of the DAG config: engines and table sources validated when the DAGs import, and
turned into the build operator's arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_cio.dag_config import DagConfigError, parse_dag_config

SHIPPED = Path(__file__).resolve().parents[4] / "dags" / "config" / "cio.yaml"


def config(**warehouse: Any) -> dict[str, Any]:
    raw = yaml.safe_load(SHIPPED.read_text())
    raw["warehouse"] = warehouse
    return raw


def test_the_shipped_config_builds_on_the_embedded_engine_from_blob() -> None:
    cfg = parse_dag_config(yaml.safe_load(SHIPPED.read_text()))
    kwargs = cfg.warehouse.operator_kwargs(cfg.env)
    assert kwargs["engine"] == {"engine": "duckdb"}
    assert kwargs["audience_engines"] == {}
    assert kwargs["warehouse"] == {"orders": {"prefix": "warehouse/dev/orders"}}


def test_per_audience_engines_and_warehouse_tables() -> None:
    cfg = parse_dag_config(
        config(
            engine="spark",
            conn_id="cio_warehouse",
            engines={"reactivation_tiers": "postgres"},
            tables={
                "orders": {"table": "sales.orders", "conn_id": "cio_warehouse", "time_column": "ordered_at"}
            },
        )
    )
    kwargs = cfg.warehouse.operator_kwargs(cfg.env)
    assert kwargs["engine"] == {"engine": "spark", "spark_master": "local[2]"}
    assert kwargs["audience_engines"] == {
        "reactivation_tiers": {"engine": "postgres", "conn_id": "cio_warehouse"}
    }
    assert kwargs["warehouse"]["orders"]["table"] == "sales.orders"


@pytest.mark.parametrize(
    ("warehouse", "key"),
    [
        ({"engine": "snowflake"}, "warehouse.engine"),
        ({"engine": "postgres"}, "warehouse.conn_id"),
        ({"engines": {"no_such_audience": "duckdb"}}, "warehouse.engines"),
        ({"engines": {"reactivation_tiers": "oracle"}}, "warehouse.engines.reactivation_tiers"),
        ({"tables": {"orders": {"prefix": "a", "table": "b"}}}, "warehouse.tables.orders"),
        ({"tables": {"orders": {"tabel": "b"}}}, "warehouse.tables.orders"),
        ({"tables": {"orders": "warehouse/dev/orders"}}, "warehouse.tables.orders"),
        ({"spark_master": 2}, "warehouse.spark_master"),
    ],
)
def test_a_wrong_warehouse_setting_fails_naming_its_key(warehouse: dict[str, Any], key: str) -> None:
    with pytest.raises(DagConfigError) as raised:
        parse_dag_config(config(**warehouse))
    assert raised.value.key == key
