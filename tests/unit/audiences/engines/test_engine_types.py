"""The embedded engine refuses a warehouse table whose declared column has the wrong type, before the query runs,
as the outside engines do: an upstream-data error naming the table, the column and both types."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from airflow_provider_cio.audiences import AudienceEngine, AudienceInputError, AudienceInputs, load_definition
from airflow_provider_cio.datasets import arrow_schema

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def people() -> pa.Table:
    schema = arrow_schema("people")
    row = {
        "customer_id": "c1",
        "email": "c1@example.com",
        "deleted": False,
        "suppressed": False,
        "ad_consent": True,
    }
    return pa.table({f.name: [row.get(f.name)] for f in schema}, schema=schema)


def orders(**overrides: pa.Array) -> pa.Table:
    columns = {
        "customer_id": pa.array(["c1"]),
        "order_id": pa.array(["o1"]),
        "amount": pa.array([10.0]),
        "margin": pa.array([3.0]),
        "ordered_at": pa.array([datetime(2026, 5, 30, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
    }
    columns.update(overrides)
    return pa.table(columns)


@pytest.mark.parametrize(
    ("column", "value", "got"),
    [
        ("ordered_at", pa.array(["2026-05-30T00:00:00Z"]), "string"),
        ("customer_id", pa.array([1]), "number"),
    ],
)
def test_a_wrong_type_is_refused_naming_the_column(column: str, value: pa.Array, got: str) -> None:
    inputs = AudienceInputs(people=people(), warehouse={"orders": orders(**{column: value})})
    with AudienceEngine(inputs) as engine, pytest.raises(AudienceInputError) as raised:
        engine.build(load_definition("suppress_recent_purchasers"), as_of=AS_OF)
    assert raised.value.error_class == "upstream_data"
    assert f"'orders' column '{column}' is {got}" in str(raised.value)


def test_the_right_types_build() -> None:
    inputs = AudienceInputs(people=people(), warehouse={"orders": orders(amount=pa.array([10], pa.int32()))})
    with AudienceEngine(inputs) as engine:
        assert engine.build(load_definition("suppress_recent_purchasers"), as_of=AS_OF).size == 1
