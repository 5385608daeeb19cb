"""Our engine: every aggregate the suite needs from one DuckDB query over the partition's Parquet files.

Stock GX on pandas reads the whole partition into memory, md5-hashes the frame on every batch fetch and computes
each metric in its own pass. Here one SQL statement returns null counts, out-of-set / out-of-range / regex-mismatch
counts, duplicate-row counts, min/max and the row count, reading only the columns the checks name; ``verdict.py``
turns those numbers into GX's verdicts. Sample values are fetched (and masked) only for checks that failed.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow_provider_cio.duckdb_memory import bound_memory
from airflow_provider_cio.quality.drift import type_family
from airflow_provider_cio.quality.expectations import ExpectationSpec
from airflow_provider_cio.quality.masking import mask_samples
from airflow_provider_cio.quality.result import CheckResult
from airflow_provider_cio.quality.verdict import (
    COLUMN_MAP,
    NOT_NULL,
    bounds_verdict,
    map_verdict,
    observed_text,
    threshold_text,
)

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Checks whose SQL depends on the column's type; a retyped column is reported as not evaluated for these.
_TYPED = {
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_max_to_be_between",
}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"unsupported literal {type(value).__name__}")


class _Query:
    """Collects named aggregate expressions so each distinct one is computed once."""

    def __init__(self) -> None:
        self.expressions: dict[str, str] = {}

    def add(self, sql: str) -> str:
        for alias, existing in self.expressions.items():
            if existing == sql:
                return alias
        alias = f"a{len(self.expressions)}"
        self.expressions[alias] = sql
        return alias


def evaluate_with_duckdb(
    files: list[Path],
    specs: list[tuple[ExpectationSpec, dict[str, Any]]],
    column_types: dict[str, str],
    *,
    retyped: set[str],
    threads: int | None = None,
) -> tuple[int, list[CheckResult]]:
    """Row count and one ``CheckResult`` per (spec, resolved kwargs), from a single aggregate query."""
    import duckdb

    source = "read_parquet([" + ", ".join(_literal(str(path)) for path in files) + "], union_by_name = true)"
    query = _Query()
    rows_alias = query.add("count(*)")
    plans: list[tuple[ExpectationSpec, dict[str, Any], dict[str, str], str | None]] = []
    for spec, kwargs in specs:
        column = kwargs.get("column")
        aliases: dict[str, str] = {}
        skip: str | None = None
        if spec.expectation_type == "expect_column_to_exist" or spec.expectation_type.startswith(
            "expect_table"
        ):
            pass
        elif column not in column_types:
            skip = "column missing: not evaluated"
        elif column in retyped and spec.expectation_type in _TYPED:
            skip = f"column retyped to {column_types[column]}: not evaluated"
        else:
            aliases = _aggregates(query, spec.expectation_type, column, column_types[column], kwargs)
        plans.append((spec, kwargs, aliases, skip))

    select = ", ".join(f"{sql} AS {alias}" for alias, sql in query.expressions.items())
    sql = f"WITH src AS NOT MATERIALIZED (SELECT * FROM {source}) SELECT {select} FROM src"
    connection = duckdb.connect(":memory:")
    spill = tempfile.TemporaryDirectory(prefix="cio-gate-spill-")
    try:
        # a uniqueness check groups every key of the partition: bounded memory, spilled beside the run
        bound_memory(connection, temp_directory=spill.name)
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        record = connection.execute(sql).fetchone()
        assert record is not None
        values = dict(zip(query.expressions, record, strict=True))
        rows = int(values[rows_alias])
        results = [
            _result(connection, source, spec, kwargs, aliases, skip, values, rows, column_types)
            for spec, kwargs, aliases, skip in plans
        ]
    finally:
        connection.close()
        spill.cleanup()
    return rows, results


def _present(column: str, arrow_type: str) -> str:
    """SQL predicate for "GX would consider this value": not null, and not NaN for floats (pandas treats NaN as null)."""
    ident = _ident(column)
    if type_family(arrow_type) == "float":
        return f"({ident} IS NOT NULL AND NOT isnan({ident}))"
    return f"({ident} IS NOT NULL)"


def _unexpected_predicate(kind: str, column: str, arrow_type: str, kwargs: dict[str, Any]) -> str | None:
    ident = _ident(column)
    present = _present(column, arrow_type)
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(_literal(value) for value in kwargs["value_set"])
        return f"{present} AND {ident} NOT IN ({values})"
    if kind == "expect_column_values_to_be_between":
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f"{ident} >= {_literal(kwargs['min_value'])}")
        if kwargs.get("max_value") is not None:
            bounds.append(f"{ident} <= {_literal(kwargs['max_value'])}")
        return f"{present} AND NOT ({' AND '.join(bounds)})"
    if kind == "expect_column_values_to_match_regex":
        return f"{present} AND NOT regexp_matches(CAST({ident} AS VARCHAR), {_literal(kwargs['regex'])})"
    return None


def _aggregates(
    query: _Query, kind: str, column: str, arrow_type: str, kwargs: dict[str, Any]
) -> dict[str, str]:
    ident = _ident(column)
    present = _present(column, arrow_type)
    aliases = {"nulls": query.add(f"count(*) FILTER (WHERE NOT {present})")}
    if kind == NOT_NULL:
        aliases["unexpected"] = aliases["nulls"]
    elif kind == "expect_column_values_to_be_unique":
        aliases["unexpected"] = query.add(
            f"(SELECT coalesce(sum(k), 0) FROM (SELECT count(*) AS k FROM src WHERE {present} "
            f"GROUP BY {ident} HAVING count(*) > 1))"
        )
    elif kind in COLUMN_MAP:
        predicate = _unexpected_predicate(kind, column, arrow_type, kwargs)
        aliases["unexpected"] = query.add(f"count(*) FILTER (WHERE {predicate})")
    elif kind == "expect_column_max_to_be_between":
        if type_family(arrow_type).startswith("timestamp"):
            aliases["max"] = query.add(f"epoch_us(max({ident}))")
            aliases["max_unit"] = "epoch_us"  # a marker, not a query alias
        else:
            aliases["max"] = query.add(f"max({ident})")
    return aliases


def _samples(
    connection: Any, source: str, kind: str, column: str, arrow_type: str, kwargs: dict[str, Any]
) -> list[str]:
    """A few failing values (masked), fetched only for failed checks."""
    ident = _ident(column)
    if kind == NOT_NULL:
        return []
    if kind == "expect_column_values_to_be_unique":
        sql = (
            f"SELECT {ident} FROM {source} WHERE {_present(column, arrow_type)} GROUP BY {ident} "
            f"HAVING count(*) > 1 LIMIT 20"
        )
    else:
        predicate = _unexpected_predicate(kind, column, arrow_type, kwargs)
        if predicate is None:
            return []
        sql = f"SELECT {ident} FROM {source} WHERE {predicate} LIMIT 20"
    return mask_samples(row[0] for row in connection.execute(sql).fetchall())


def _result(
    connection: Any,
    source: str,
    spec: ExpectationSpec,
    kwargs: dict[str, Any],
    aliases: dict[str, str],
    skip: str | None,
    values: dict[str, Any],
    rows: int,
    column_types: dict[str, str],
) -> CheckResult:
    kind = spec.expectation_type
    column = kwargs.get("column")
    result = CheckResult(
        name=spec.check.name,
        expectation_type=kind,
        column=column,
        severity=spec.check.severity,
        success=False,
        threshold=threshold_text(spec, kwargs),
        cause=spec.cause,
    )
    if kind == "expect_column_to_exist":
        result.success = column in column_types
        result.observed = "present" if result.success else "missing"
        return result
    if kind == "expect_table_row_count_to_be_between":
        result.observed = rows
        result.success = bounds_verdict(rows, kwargs)
        return result
    if skip is not None:
        result.note = skip
        return result
    assert column is not None
    if kind in COLUMN_MAP:
        nulls, unexpected = int(values[aliases["nulls"]]), int(values[aliases["unexpected"]])
        success, percent = map_verdict(
            kind, rows=rows, nulls=nulls, unexpected=unexpected, mostly=kwargs.get("mostly", 1.0)
        )
        result.success = success
        result.unexpected_count, result.unexpected_percent, result.element_count = unexpected, percent, rows
        result.observed = observed_text(kind, rows=rows, nulls=nulls, unexpected=unexpected)
        if unexpected and not success:
            result.samples = _samples(connection, source, kind, column, column_types[column], kwargs)
        return result
    if kind == "expect_column_max_to_be_between":
        observed = values[aliases["max"]]
        if observed is not None and aliases.get("max_unit") == "epoch_us":
            observed = _EPOCH + timedelta(microseconds=int(observed))
        result.success = bounds_verdict(observed, kwargs)
        result.observed = observed.isoformat() if isinstance(observed, datetime) else observed
        if observed is None:
            result.note = "no non-null values"
        return result
    raise ValueError(f"no DuckDB evaluation for {kind}")
