"""One definition, several engines: the five reference audiences built on DuckDB, PostgreSQL and Spark SQL over the
same synthetic data give the same members (ids, tiers, scores, hashed identifiers) and the same exclusion counts.

PostgreSQL and Spark are real (see conftest). Orders live in a PostgreSQL schema as a warehouse table would; the
embedded engine reads them through the DB-API connection too, so all three ways meet in one comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from warehouse_data import Landed, write_landed

from airflow_provider_cio.audiences import REFERENCE_AUDIENCES, AudienceEngine, HoldoutPolicy, load_definition
from airflow_provider_cio.audiences.warehouse import WarehouseRelation, materialize_relations

HOLDOUT = HoldoutPolicy("paid_retention", "warehouse-test-salt", 0.1)
# the workspace spans 61 days: a 21-day lapse makes reactivation_tiers non-empty
PARAMETERS: dict[str, dict[str, Any]] = {"reactivation_tiers": {"lapsed_days": 21}}


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Landed:
    return write_landed(tmp_path_factory.mktemp("landed"))


def load_orders(postgres: Any, table: pa.Table, relation: str = "sales.orders", **types: str) -> None:
    """The warehouse's own orders table (created and filled as a team's ETL would, outside our code)."""
    schema, name = relation.split(".")
    columns = types or {
        "customer_id": "text",
        "order_id": "text",
        "amount": "numeric(12,2)",
        "margin": "numeric(12,2)",
        "ordered_at": "timestamptz",
    }
    with postgres.connect() as con, con.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cur.execute(f"DROP TABLE IF EXISTS {relation}")
        cur.execute(f"CREATE TABLE {relation} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        names = [c for c in columns if c in table.column_names]
        rows = zip(*(table.column(c).to_pylist() for c in names), strict=True)
        with cur.copy(f"COPY {relation} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


@pytest.fixture(scope="module")
def pg_orders(postgres: Any, landed: Landed) -> str:
    load_orders(postgres, landed.orders)
    return "sales.orders"


def build_all(inputs: Any, as_of: Any, outside: Any = None) -> dict[str, Any]:
    out = {}
    with AudienceEngine(inputs, outside=outside) as engine:
        for name in REFERENCE_AUDIENCES:
            out[name] = engine.build(
                load_definition(name), as_of=as_of, parameters=PARAMETERS.get(name), holdout=HOLDOUT
            )
    return out


def comparable(members: pa.Table) -> list[dict[str, Any]]:
    """Rows sorted by customer id; scores to 6 decimals (engines sum floats in their own order, and PostgreSQL
    sums a numeric margin exactly)."""
    rows = members.sort_by("customer_id").to_pylist()
    for row in rows:
        if row.get("score") is not None:
            row["score"] = round(row["score"], 6)
    return rows


@pytest.fixture(scope="module")
def on_duckdb(landed: Landed) -> dict[str, Any]:
    builds = build_all(landed.inputs(), landed.as_of)
    for name, build in builds.items():  # the comparison means something only if each audience has members
        assert build.size > 5, f"{name} has {build.size} members on the synthetic data"
    return builds


def assert_same(expected: dict[str, Any], got: dict[str, Any], engine: str) -> None:
    for name in REFERENCE_AUDIENCES:
        assert got[name].stats["engine"] == engine
        assert got[name].stats["candidates"] == expected[name].stats["candidates"], name
        assert got[name].stats["exclusions"] == expected[name].stats["exclusions"], name
        assert got[name].members.schema.names == expected[name].members.schema.names, name
        g, e = comparable(got[name].members), comparable(expected[name].members)
        differ = [a["customer_id"] for a, b in zip(g, e, strict=False) if a != b]
        assert g == e, (name, differ[:5])


def test_postgres_builds_the_same_members_as_duckdb(
    postgres: Any, landed: Landed, pg_orders: str, on_duckdb: dict[str, Any]
) -> None:
    from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

    inputs = landed.inputs({"orders": WarehouseRelation(pg_orders)})
    with PostgresEngine(inputs, postgres.connect, batch_rows=100) as engine:
        got = build_all(inputs, landed.as_of, outside=engine)
    assert_same(on_duckdb, got, "postgres")


def test_spark_builds_the_same_members_as_duckdb(
    spark: Any, landed: Landed, on_duckdb: dict[str, Any]
) -> None:
    from airflow_provider_cio.audiences.engines.spark import SparkEngine

    # orders as a table of the session's catalog (read with spark.table), the landed datasets by path
    spark.read.parquet(landed.path("orders")).createOrReplaceGlobalTempView("cio_orders")
    inputs = landed.inputs({"orders": WarehouseRelation("global_temp.cio_orders")})
    with SparkEngine(inputs, spark, batch_rows=100) as engine:
        got = build_all(inputs, landed.as_of, outside=engine)
    assert_same(on_duckdb, got, "spark")


def test_duckdb_reading_orders_through_the_connection_matches_parquet(
    postgres: Any, landed: Landed, pg_orders: str, on_duckdb: dict[str, Any], tmp_path: Path
) -> None:
    definitions = [load_definition(n) for n in REFERENCE_AUDIENCES]
    relation = WarehouseRelation(pg_orders, connect=postgres.connect, time_column="ordered_at")
    inputs = materialize_relations(
        landed.inputs({"orders": relation}), definitions, as_of=landed.as_of, work_dir=tmp_path
    )
    got = build_all(inputs, landed.as_of)
    assert_same(on_duckdb, got, "duckdb")


def test_a_parameter_value_is_bound_not_pasted(
    postgres: Any, spark: Any, landed: Landed, pg_orders: str
) -> None:
    """A value that would widen the query if pasted into the SQL selects nobody on every engine."""
    from airflow_provider_cio.audiences.engines.postgres import PostgresEngine
    from airflow_provider_cio.audiences.engines.spark import SparkEngine

    definition = load_definition("engaged_clickers_14d")
    hostile = {"delivery_type": "email' OR '1'='1"}
    pg_inputs = landed.inputs({"orders": WarehouseRelation(pg_orders)})
    runs = [
        ("duckdb", landed.inputs(), lambda: None),
        ("postgres", pg_inputs, lambda: PostgresEngine(pg_inputs, postgres.connect)),
        ("spark", landed.inputs(), lambda: SparkEngine(landed.inputs(), spark)),
    ]
    for name, inputs, make in runs:
        outside = make()
        try:
            with AudienceEngine(inputs, outside=outside) as engine:
                honest = engine.build(definition, as_of=landed.as_of)
                build = engine.build(definition, as_of=landed.as_of, parameters=hostile)
        finally:
            if outside is not None:
                outside.close()
        assert honest.stats["candidates"] > 0, name
        assert build.stats["candidates"] == 0, name


def test_bring_your_own_model_a_warehouse_view_goes_through_the_same_exclusions(
    postgres: Any, landed: Landed, pg_orders: str
) -> None:
    """An audience that is a view in the team's warehouse (a dbt model, say): the same holdout and exclusions."""
    from airflow_provider_cio.audiences.definitions import AudienceDefinition
    from airflow_provider_cio.audiences.engines.postgres import PostgresEngine

    with postgres.connect() as con, con.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        cur.execute(
            "CREATE OR REPLACE VIEW analytics.big_spenders AS SELECT customer_id, sum(amount) AS spend, "
            f"max(ordered_at) AS last_order_at FROM {pg_orders} GROUP BY customer_id"
        )
    definition = AudienceDefinition.from_mapping(
        {
            "name": "big_spenders",
            "requires": {"big_spenders": ["customer_id", "spend", "last_order_at"]},
            "parameters": {"min_spend": {"type": "float", "default": 150.0}},
            "sql": "SELECT customer_id FROM big_spenders WHERE spend >= $min_spend AND last_order_at < $as_of",
        }
    )
    inputs = landed.inputs({"big_spenders": WarehouseRelation("analytics.big_spenders")})
    with (
        PostgresEngine(inputs, postgres.connect) as outside,
        AudienceEngine(inputs, outside=outside) as engine,
    ):
        build = engine.build(definition, as_of=landed.as_of, holdout=HOLDOUT)
    orders = landed.orders.to_pandas()
    spend = orders[orders.ordered_at < landed.as_of].groupby("customer_id").amount.sum()
    assert build.stats["candidates"] == int((spend >= 150.0).sum()) > 0
    excluded = build.stats["exclusions"]
    assert excluded["holdout"] > 0 and excluded["no_ad_consent"] > 0  # the same global exclusions ran
    assert build.size == build.stats["candidates"] - sum(excluded.values())
