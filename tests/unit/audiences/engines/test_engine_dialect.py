"""``translate``: a definition written once in DuckDB's dialect keeps its meaning and its bound parameters in
every paramstyle. Checked by running the translation (qmark) and the original (named) in DuckDB on generated
values; the PostgreSQL styles are run against a real server in tests/warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.audiences import REFERENCE_AUDIENCES, load_definition
from airflow_provider_cio.audiences.engines.dialect import translate
from airflow_provider_cio.audiences.errors import AudienceDefinitionError

TEMPLATE = (
    "SELECT $b AS b, $a AS a, $a || '%' || $b AS joined, '$a ? %s :1 %(a)s' AS literal, "
    "$t - to_days(CAST($n AS INTEGER)) AS since, $t - to_hours(CAST($n AS BIGINT)) AS since_h"
)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)


@settings(max_examples=60, deadline=None)
@given(
    a=texts,
    b=texts,
    n=st.integers(min_value=0, max_value=10_000),
    t=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_the_translation_binds_the_same_values_as_the_original(a: str, b: str, n: int, t: datetime) -> None:
    values: dict[str, Any] = {"a": a, "b": b, "n": n, "t": t}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    expected = con.execute(TEMPLATE, values).fetchall()
    translated = translate(TEMPLATE, "duckdb", "qmark")
    assert translated.order == ("b", "a", "a", "b", "t", "n", "t", "n")
    got = con.execute(translated.sql, translated.bind(values)).fetchall()
    assert got == expected
    assert expected[0][3] == "$a ? %s :1 %(a)s"  # a literal is never taken for a placeholder
    assert expected[0][4] == t - timedelta(days=n)


@pytest.mark.parametrize("name", REFERENCE_AUDIENCES)
@pytest.mark.parametrize("dialect", ["postgres", "spark"])
def test_every_reference_definition_translates_with_each_parameter_bound(name: str, dialect: str) -> None:
    definition = load_definition(name)
    style = "pyformat" if dialect == "postgres" else "spark"
    translated = translate(definition.sql, dialect, style)
    assert set(translated.order) == set(definition.referenced_parameters())
    assert "$" not in translated.sql  # no DuckDB placeholder left behind
    assert "to_days" not in translated.sql.lower() and "to_hours" not in translated.sql.lower()
    assert "QUALIFY" not in translated.sql.upper() or dialect == "spark"


@pytest.mark.parametrize(
    ("style", "placeholder"),
    [
        ("qmark", "?"),
        ("format", "%s"),
        ("pyformat", "%(a)s"),
        ("named", ":a"),
        ("numeric", ":1"),
        ("spark", ":a"),
    ],
)
def test_each_paramstyle_writes_its_own_placeholder(style: str, placeholder: str) -> None:
    translated = translate("SELECT $a AS x, 5 % 2 AS m", "postgres", style)
    assert placeholder in translated.sql
    assert ("%%" in translated.sql) == (
        style in ("format", "pyformat")
    )  # a literal % escaped where it must be


def test_a_value_missing_or_an_unknown_style_is_refused() -> None:
    translated = translate("SELECT $a, $b", "postgres", "pyformat")
    with pytest.raises(AudienceDefinitionError, match="'b'"):
        translated.bind({"a": 1})
    with pytest.raises(AudienceDefinitionError, match="paramstyle"):
        translate("SELECT $a", "postgres", "dollar")
    with pytest.raises(AudienceDefinitionError, match="parse"):
        translate("SELECT FROM WHERE (", "postgres", "pyformat")
