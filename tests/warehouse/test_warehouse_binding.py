"""Generated parameter values (quotes, percent signs, backslashes, placeholders' own spelling, any unicode) come
back from a real PostgreSQL exactly as bound, through both psycopg drivers and both of their paramstyles: a value
is never read as SQL, and a literal % in the definition is never read as a placeholder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.audiences.engines.dialect import translate

SQL = (
    "SELECT $a AS a, $b AS b, $a || $b AS ab, 'x%y' AS literal, "
    "$t - to_days(CAST($n AS INTEGER)) AS since WHERE $n >= 0"
)
hostile = st.sampled_from(["'", "''", "%", "%s", "%(a)s", "$a", ":a", "?", "\\", "'; DROP TABLE x; --", '"'])
texts = st.one_of(
    hostile,
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16),
)


@pytest.fixture(scope="module")
def connections(postgres: Any) -> Any:
    import psycopg
    import psycopg2

    a = psycopg.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname=postgres.dbname)
    b = psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname=postgres.dbname)
    for con in (a, b):
        with con.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
    yield {"psycopg": a, "psycopg2": b}
    a.close()
    b.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=texts, b=texts, n=st.integers(0, 3000), style=st.sampled_from(["pyformat", "format"]))
def test_values_come_back_exactly_as_bound(connections: Any, a: str, b: str, n: int, style: str) -> None:
    t = datetime(2026, 6, 1, tzinfo=UTC)
    translated = translate(SQL, "postgres", style)
    for driver, con in connections.items():
        with con.cursor() as cur:
            cur.execute(translated.sql, translated.bind({"a": a, "b": b, "n": n, "t": t}))
            row = cur.fetchone()
        con.rollback()
        assert row is not None, driver
        assert row[:4] == (a, b, a + b, "x%y"), driver
        assert row[4].timestamp() == t.timestamp() - n * 86_400, driver
