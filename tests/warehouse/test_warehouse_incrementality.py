"""The lift report reads the warehouse ``orders`` as the audiences do: from a Blob prefix or through a SQL connection
(a real PostgreSQL here), only the window's rows, with the same column and type checks and the same errors."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from test_warehouse_engines import load_orders
from warehouse_data import Landed, write_landed

from airflow_provider_cio.audiences import AudienceDefinitionError, AudienceInputError, measure_outcomes
from airflow_provider_cio.audiences.holdout import holdout_mask
from airflow_provider_cio.audiences.incrementality_run import orders_source, run_incrementality
from airflow_provider_cio.audiences.warehouse import WarehouseRelation
from airflow_provider_cio.storage import MemoryObjectStore


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Landed:
    return write_landed(tmp_path_factory.mktemp("landed"), people=400)


def _blob_store(orders: pa.Table) -> MemoryObjectStore:
    store = MemoryObjectStore()
    buffer = io.BytesIO()
    pq.write_table(orders, buffer)
    store.write_bytes("warehouse/dev/orders/part-0.parquet", buffer.getvalue())
    return store


def _population(landed: Landed) -> pa.Table:
    ids = sorted(set(landed.orders.column("customer_id").to_pylist()))
    return pa.table({"customer_id": ids, "in_holdout": holdout_mask(ids, salt="lift", share=0.3)})


def test_outcomes_are_the_same_from_blob_and_from_postgres(
    postgres: Any, landed: Landed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_cio.hooks.warehouse import warehouse_sources

    load_orders(postgres, landed.orders, "sales.lift_orders")
    monkeypatch.setenv("AIRFLOW_CONN_CIO_LIFT_WAREHOUSE", postgres.uri)
    # the operator's argument, as WarehouseConfig.operator_kwargs gives it to the audiences
    blob = warehouse_sources({"orders": {"prefix": "warehouse/dev/orders"}})["orders"]
    sql = warehouse_sources({"orders": {"table": "sales.lift_orders", "conn_id": "cio_lift_warehouse"}})[
        "orders"
    ]
    assert isinstance(sql, WarehouseRelation)
    window = (landed.as_of - timedelta(days=7), landed.as_of)
    from_blob = orders_source(_blob_store(landed.orders), blob, window=window, work_dir=tmp_path / "blob")
    from_pg = orders_source(MemoryObjectStore(), sql, window=window, work_dir=tmp_path / "pg")

    # the connection read took only the window's rows and the three columns the outcomes need
    read = pq.read_table(from_pg[0])
    assert read.column_names == ["customer_id", "amount", "ordered_at"]
    times = landed.orders.column("ordered_at")
    in_window = pc.and_(pc.greater_equal(times, window[0]), pc.less(times, window[1]))
    assert read.num_rows == pc.sum(in_window).as_py() > 0

    population = _population(landed)
    blob_t, blob_h = measure_outcomes(population, from_blob, start=window[0], end=window[1])
    pg_t, pg_h = measure_outcomes(population, from_pg, start=window[0], end=window[1])
    assert blob_t.conversions > 0 and blob_h.conversions > 0
    for ours, theirs in ((pg_t, blob_t), (pg_h, blob_h)):
        assert (ours.users, ours.conversions) == (theirs.users, theirs.conversions)
        assert ours.revenue_mean == pytest.approx(theirs.revenue_mean)
        assert ours.revenue_var == pytest.approx(theirs.revenue_var)


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        (
            {"customer_id": "text", "order_id": "text", "ordered_at": "timestamptz"},
            ["'orders'", "amount"],
        ),
        (
            {"customer_id": "text", "amount": "numeric(12,2)", "ordered_at": "text"},
            ["'orders'", "'ordered_at'", "string", "timestamp"],
        ),
    ],
    ids=["missing_amount", "timestamp_as_text"],
)
def test_a_misdeclared_orders_table_fails_before_the_read_naming_the_column(
    postgres: Any, landed: Landed, tmp_path: Path, columns: dict[str, str], words: list[str]
) -> None:
    table = landed.orders.slice(0, 20)
    if columns.get("ordered_at") == "text":
        table = table.set_column(4, "ordered_at", table.column("ordered_at").cast(pa.string()))
    name = f"bad.lift_{len(columns)}_{columns['ordered_at']}"
    load_orders(postgres, table, name, **columns)
    window = (landed.as_of - timedelta(days=7), landed.as_of)
    relation = WarehouseRelation(name, connect=postgres.connect)
    with pytest.raises(AudienceInputError) as raised:
        orders_source(MemoryObjectStore(), relation, window=window, work_dir=tmp_path)
    assert raised.value.error_class == "upstream_data"
    for word in words:
        assert word in str(raised.value)
    assert not (tmp_path / "warehouse" / "orders.parquet").exists()  # nothing was read


def test_the_same_type_error_from_a_blob_prefix(landed: Landed, tmp_path: Path) -> None:
    orders = landed.orders.set_column(4, "ordered_at", landed.orders.column("ordered_at").cast(pa.string()))
    window = (landed.as_of - timedelta(days=7), landed.as_of)
    local = orders_source(_blob_store(orders), "warehouse/dev/orders", window=window, work_dir=tmp_path)
    with pytest.raises(AudienceInputError) as raised:
        measure_outcomes(_population(landed), local, start=window[0], end=window[1])
    assert raised.value.error_class == "upstream_data"
    assert "'orders'" in str(raised.value) and "'ordered_at' is string, expected timestamp" in str(
        raised.value
    )


def test_a_failing_connection_is_a_configuration_error(landed: Landed, tmp_path: Path) -> None:
    def refused() -> Any:
        raise ConnectionRefusedError("connection to server at 127.0.0.1 failed: password 'hunter2' rejected")

    window = (landed.as_of - timedelta(days=7), landed.as_of)
    relation = WarehouseRelation("sales.orders", connect=refused, label="cio_warehouse:sales.orders")
    with pytest.raises(AudienceInputError) as raised:
        orders_source(MemoryObjectStore(), relation, window=window, work_dir=tmp_path)
    assert raised.value.error_class == "configuration"
    assert "'orders'" in str(raised.value) and "cio_warehouse:sales.orders" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_a_lift_report_without_orders_is_a_configuration_error(landed: Landed, tmp_path: Path) -> None:
    with pytest.raises(AudienceDefinitionError, match="'orders'"):
        run_incrementality(
            MemoryObjectStore(),
            env="dev",
            workspace="w",
            program="p",
            audiences=["a"],
            window=(landed.as_of - timedelta(days=7), landed.as_of),
            warehouse={},
            work_dir=tmp_path,
        )
