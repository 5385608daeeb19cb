"""A warehouse table that is not what the definitions declare fails before any audience query runs, with the
error class on call routes on and a message naming the table and the column: a missing column, a wrong type, a
relation that does not exist, a connection that fails. On the embedded engine's read and on PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from test_warehouse_engines import load_orders
from warehouse_data import Landed, write_landed

from airflow_provider_cio.audiences import AudienceEngine, AudienceInputError, load_definition
from airflow_provider_cio.audiences.warehouse import WarehouseRelation, materialize_relations, read_relation

GOOD = {
    "customer_id": "text",
    "order_id": "text",
    "amount": "double precision",
    "margin": "double precision",
    "ordered_at": "timestamptz",
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Landed:
    return write_landed(tmp_path_factory.mktemp("landed"), people=300)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nobody listens once the socket is closed


@pytest.mark.parametrize(
    ("columns", "relation", "audience", "words"),
    [
        (
            {k: v for k, v in GOOD.items() if k != "margin"},
            "bad.no_margin",
            "reactivation_tiers",
            ["'orders'", "margin"],
        ),
        (
            {**GOOD, "ordered_at": "text"},
            "bad.text_time",
            "reactivation_tiers",
            ["'orders'", "'ordered_at'", "string", "timestamp"],
        ),
        (
            {**GOOD, "amount": "text"},
            "bad.text_amount",
            "high_intent_unresponsive_carts",
            ["'orders'", "'amount'", "string", "number"],
        ),
    ],
    ids=["missing_column", "timestamp_as_text", "amount_as_text"],
)
def test_a_misdeclared_orders_table_is_refused_naming_the_column(
    postgres: Any,
    landed: Landed,
    tmp_path: Path,
    columns: dict[str, str],
    relation: str,
    audience: str,
    words: list[str],
) -> None:
    from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

    table = landed.orders.slice(0, 50)
    if columns["ordered_at"] == "text":
        table = table.set_column(4, "ordered_at", table.column("ordered_at").cast(pa.string()))
    if columns.get("amount") == "text":
        table = table.set_column(2, "amount", table.column("amount").cast(pa.string()))
    load_orders(postgres, table, relation, **columns)
    definition = load_definition(audience)

    # the embedded engine's read, before any row is fetched
    read = WarehouseRelation(relation, connect=postgres.connect, time_column="ordered_at")
    with pytest.raises(AudienceInputError) as raised:
        materialize_relations(
            landed.inputs({"orders": read}), [definition], as_of=landed.as_of, work_dir=tmp_path
        )
    assert raised.value.error_class == "upstream_data"
    for word in words:
        assert word in str(raised.value)

    # in place on PostgreSQL, before the definition's query runs
    inputs = landed.inputs({"orders": WarehouseRelation(relation)})
    with (
        PostgresEngine(inputs, postgres.connect) as outside,
        AudienceEngine(inputs, outside=outside) as engine,
        pytest.raises(AudienceInputError) as raised,
    ):
        engine.build(definition, as_of=landed.as_of)
    assert raised.value.error_class == "upstream_data"
    for word in words:
        assert word in str(raised.value)


def test_a_relation_that_does_not_exist_is_a_configuration_error(
    postgres: Any, landed: Landed, tmp_path: Path
) -> None:
    from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

    definition = load_definition("suppress_recent_purchasers")
    read = WarehouseRelation("sales.nope", connect=postgres.connect)
    with pytest.raises(AudienceInputError) as raised:
        materialize_relations(
            landed.inputs({"orders": read}), [definition], as_of=landed.as_of, work_dir=tmp_path
        )
    assert raised.value.error_class == "configuration"
    assert "'orders'" in str(raised.value) and "sales.nope" in str(raised.value)

    inputs = landed.inputs({"orders": WarehouseRelation("sales.nope")})
    with (
        PostgresEngine(inputs, postgres.connect) as outside,
        AudienceEngine(inputs, outside=outside) as engine,
        pytest.raises(AudienceInputError) as raised,
    ):
        engine.build(definition, as_of=landed.as_of)
    assert raised.value.error_class == "configuration"
    assert "sales.nope" in str(raised.value)


def test_a_failing_connection_is_a_configuration_error_without_the_dsn(
    landed: Landed, tmp_path: Path
) -> None:
    import psycopg

    from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

    port = _closed_port()

    def connect() -> Any:
        return psycopg.connect(
            host="127.0.0.1", port=port, user="cio", password="s3cret-pw", connect_timeout=5
        )

    definition = load_definition("suppress_recent_purchasers")
    read = WarehouseRelation("sales.orders", connect=connect)
    with pytest.raises(AudienceInputError) as raised:
        materialize_relations(
            landed.inputs({"orders": read}), [definition], as_of=landed.as_of, work_dir=tmp_path
        )
    assert raised.value.error_class == "configuration"
    assert "'orders'" in str(raised.value) and "cannot connect" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)
    with pytest.raises(AudienceInputError) as raised:
        PostgresEngine(landed.inputs(), connect)
    assert raised.value.error_class == "configuration"
    assert "s3cret-pw" not in str(raised.value)


def test_the_read_takes_only_declared_columns_and_the_window(
    postgres: Any, landed: Landed, tmp_path: Path
) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    load_orders(postgres, landed.orders, "sales.orders_window", **GOOD)
    relation = WarehouseRelation(
        "sales.orders_window", connect=postgres.connect, time_column="ordered_at", lookback_days=10
    )
    path = read_relation(
        "orders",
        relation,
        ["customer_id", "amount"],
        as_of=landed.as_of,
        dest=tmp_path / "o.parquet",
        batch_rows=7,
    )
    got = pq.read_table(path)
    assert got.column_names == ["customer_id", "amount", "ordered_at"]
    since = pa.scalar(landed.as_of.timestamp() - 10 * 86_400, pa.float64())
    times = pc.divide(got.column("ordered_at").cast(pa.int64()), 1_000_000)
    inside = pc.and_(
        pc.greater_equal(
            pc.cast(landed.orders.column("ordered_at"), pa.int64()), int(since.as_py() * 1_000_000)
        ),
        pc.less(
            pc.cast(landed.orders.column("ordered_at"), pa.int64()), int(landed.as_of.timestamp() * 1_000_000)
        ),
    )
    assert got.num_rows == pc.sum(inside).as_py() > 0
    assert pc.min(times).as_py() >= since.as_py()
    assert sorted(got.column("customer_id").to_pylist()) == sorted(
        landed.orders.filter(inside).column("customer_id").to_pylist()
    )


def test_the_read_takes_the_window_the_definitions_declare(
    postgres: Any, landed: Landed, tmp_path: Path
) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    load_orders(postgres, landed.orders, "sales.orders_declared", **GOOD)
    relation = WarehouseRelation("sales.orders_declared", connect=postgres.connect)  # no window of its own
    definitions = [load_definition("suppress_recent_purchasers")]
    inputs = materialize_relations(
        landed.inputs({"orders": relation}),
        definitions,
        as_of=landed.as_of,
        work_dir=tmp_path,
        parameters={"suppress_recent_purchasers": {"purchase_window_days": 5}},
    )
    got = pq.read_table(inputs.warehouse["orders"])  # type: ignore[arg-type]
    assert got.column_names == ["customer_id", "ordered_at"]
    micros = landed.orders.column("ordered_at").cast(pa.int64())
    end = int(landed.as_of.timestamp() * 1_000_000)
    inside = pc.and_(pc.greater_equal(micros, end - 5 * 86_400 * 1_000_000), pc.less(micros, end))
    assert 0 < got.num_rows == pc.sum(inside).as_py() < landed.orders.num_rows


def test_spark_refuses_a_missing_column_or_table_before_the_query(
    spark: Any, landed: Landed, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    from airflow_provider_cio.audiences.engines.spark import SparkEngine

    no_margin = tmp_path / "orders_no_margin.parquet"
    pq.write_table(landed.orders.drop_columns(["margin"]), no_margin)
    cases = [
        ({"orders": str(no_margin)}, "upstream_data", ["'orders'", "margin"]),
        (
            {"orders": WarehouseRelation("global_temp.nope")},
            "configuration",
            ["'orders'", "global_temp.nope"],
        ),
    ]
    for warehouse, error_class, words in cases:
        inputs = landed.inputs(warehouse)
        with (
            SparkEngine(inputs, spark) as outside,
            AudienceEngine(inputs, outside=outside) as engine,
            pytest.raises(AudienceInputError) as raised,
        ):
            engine.build(load_definition("reactivation_tiers"), as_of=landed.as_of)
        assert raised.value.error_class == error_class
        for word in words:
            assert word in str(raised.value)
