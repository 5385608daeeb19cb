"""The embedded DuckDB sessions run under a bounded memory budget and spill where they are told."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.duckdb_memory import DEFAULT_LIMIT_BYTES, bound_memory, parse_size


def _setting(con: duckdb.DuckDBPyConnection, name: str) -> str:
    return str(con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0])


def _limit(con: duckdb.DuckDBPyConnection) -> int:
    value = parse_size(_setting(con, "memory_limit"))
    assert value is not None
    return value


def test_default_budget_is_lowered_to_the_cap() -> None:
    con = duckdb.connect()
    bound_memory(con, default_bytes=512 * 1024**2)
    assert _limit(con) == pytest.approx(512 * 1024**2, rel=0.03)  # DuckDB shows one decimal


def test_a_lower_default_is_kept() -> None:
    con = duckdb.connect()
    con.execute("SET memory_limit = '100MB'").fetchall()
    before = _limit(con)
    bound_memory(con)
    assert _limit(con) == before < DEFAULT_LIMIT_BYTES


def test_an_explicit_limit_wins_and_the_spill_directory_is_set(tmp_path: Path) -> None:
    con = duckdb.connect()
    spill = tmp_path / "it's here"
    bound_memory(con, memory_limit="5GB", temp_directory=str(spill))
    assert _limit(con) == pytest.approx(5 * 1000**3, rel=0.03)  # DuckDB shows one decimal
    assert _setting(con, "temp_directory") == str(spill)
    assert con.execute("SELECT 42").fetchall() == [(42,)]  # nothing left pending on the connection


def test_a_join_larger_than_the_budget_spills_and_gives_the_same_answer(tmp_path: Path) -> None:
    sql = (
        "SELECT count(*), sum(a.i) FROM range(600000) a(i) JOIN "
        "(SELECT i, repeat('x', 200) AS pad FROM range(600000) t(i)) b ON a.i = b.i"
    )
    free = duckdb.connect()
    bounded = duckdb.connect()
    bound_memory(bounded, memory_limit="64MB", temp_directory=str(tmp_path))
    assert bounded.execute(sql).fetchall() == free.execute(sql).fetchall()


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["bytes", "KB", "MB", "GB", "KiB", "MiB", "GiB", "TiB"]),
)
def test_sizes_parse_in_duckdbs_units(number: int, unit: str) -> None:
    factor = {"bytes": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3}.get(unit) or 1024 ** (
        ["KiB", "MiB", "GiB", "TiB"].index(unit) + 1
    )
    assert parse_size(f"{number} {unit}") == number * factor
    assert parse_size(f"{number}.5{unit}") == int((number + 0.5) * factor)


@given(st.text(max_size=12))
def test_anything_else_is_not_a_size(text: str) -> None:
    parsed = parse_size(text)
    assert parsed is None or parsed >= 0
    if not any(ch.isdigit() for ch in text):
        assert parsed is None
