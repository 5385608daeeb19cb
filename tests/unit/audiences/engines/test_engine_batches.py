"""Rows from a DB-API cursor or Spark become Arrow batches of bounded size with one stable schema, whatever the
values: generated rows (None anywhere, ints, floats, Decimals, text, naive and aware datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.audiences.engines.dbapi import family_type, fetch_batches, rows_to_batches

moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1))
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
texts = st.text(max_size=12)
numbers = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
)


def typed_rows() -> st.SearchStrategy[list[tuple[Any, Any, Any]]]:
    row = st.tuples(
        st.none() | texts,
        st.none() | numbers,
        st.none() | st.builds(lambda m, z: m.replace(tzinfo=z), moments, zones),
    )
    return st.lists(row, max_size=60)


SCHEMA = pa.schema(
    [("id", family_type("string")), ("amount", family_type("number")), ("at", family_type("timestamp"))]
)


def _micros(value: datetime) -> int:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # naive values are read as UTC
    return int((aware - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


@settings(max_examples=80, deadline=None)
@given(typed_rows(), st.integers(1, 17))
def test_batches_are_bounded_and_keep_every_value(rows: list[tuple[Any, Any, Any]], batch_rows: int) -> None:
    batches = list(rows_to_batches(iter(rows), ["id", "amount", "at"], SCHEMA, batch_rows))
    assert all(0 < b.num_rows <= batch_rows for b in batches)
    assert all(b.schema == SCHEMA for b in batches)
    table = pa.Table.from_batches(batches, schema=SCHEMA)
    assert table.column("id").to_pylist() == [r[0] for r in rows]
    got_amount = table.column("amount").to_pylist()
    for value, got in zip((r[1] for r in rows), got_amount, strict=True):
        assert (got is None) if value is None else got == float(value)
    got_at = table.column("at").cast(pa.int64()).to_pylist()
    assert got_at == [None if r[2] is None else _micros(r[2]) for r in rows]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.none() | st.integers(-5, 5), st.none() | texts), max_size=40), st.integers(1, 9))
def test_without_a_schema_the_first_batch_sets_one_for_all(
    rows: list[tuple[Any, Any]], batch_rows: int
) -> None:
    batches = list(rows_to_batches(iter(rows), ["n", "s"], None, batch_rows))
    assert len({b.schema for b in batches}) <= 1  # later batches are cast to the first one's types
    assert [tuple(r.values()) for b in batches for r in b.to_pylist()] == [
        (None if n is None else n if batches[0].schema.field("n").type != pa.string() else str(n), s)
        for n, s in rows
    ]


class Cursor:
    """A DB-API cursor over generated rows that records the size of every fetchmany request."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows
        self.asked: list[int] = []

    def fetchmany(self, size: int) -> list[Any]:
        self.asked.append(size)
        out, self.rows = self.rows[:size], self.rows[size:]
        return out


@given(st.lists(st.integers(), max_size=100), st.integers(1, 13))
def test_fetch_batches_asks_the_driver_for_at_most_one_batch_at_a_time(rows: list[int], size: int) -> None:
    cursor = Cursor(list(rows))
    assert list(fetch_batches(cursor, size)) == rows
    assert (
        set(cursor.asked) == {size} and len(cursor.asked) == -(-len(rows) // size) + 1
    )  # + the empty answer
