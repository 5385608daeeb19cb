"""Column type families every engine can tell apart, and what each known input table's columns must be.

Why families, not exact types: the same ``ordered_at`` is ``timestamptz`` in PostgreSQL, ``TIMESTAMP`` in Spark and
``timestamp[us, tz=UTC]`` in Parquet; what a definition relies on is "a timestamp", "a number", "a string". A column
of the wrong family (an ``ordered_at`` stored as text) would make a window comparison fail late or, worse, compare
as text: it is refused before any query runs, naming the table and the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from airflow_provider_cio.audiences.errors import AudienceInputError

Family = Literal["string", "number", "bool", "timestamp", "date", "binary"]
FAMILIES: Final[tuple[str, ...]] = ("string", "number", "bool", "timestamp", "date", "binary")

# The warehouse tables the reference definitions read (a user's own tables declare theirs in the config).
WAREHOUSE_TYPES: Final[dict[str, dict[str, Family]]] = {
    "orders": {
        "customer_id": "string",
        "order_id": "string",
        "amount": "number",
        "margin": "number",
        "ordered_at": "timestamp",
    },
}
_ARROW: Final[dict[str, Family]] = {
    "string": "string",
    "int64": "number",
    "float64": "number",
    "bool": "bool",
    "timestamp[us, tz=UTC]": "timestamp",
}


def expected_types(table: str, declared: Mapping[str, str] | None = None) -> dict[str, Family]:
    """Column -> family for ``table``: the landed contract, the known warehouse tables, then what the config says."""
    from airflow_provider_cio.datasets import DATASET_COLUMNS

    out: dict[str, Family] = {}
    if table in DATASET_COLUMNS:
        out.update({c: _ARROW[t] for c, t, _ in DATASET_COLUMNS[table] if t in _ARROW})
    out.update(WAREHOUSE_TYPES.get(table, {}))
    for column, family in (declared or {}).items():
        if family not in FAMILIES:
            raise AudienceInputError(
                f"table {table!r} column {column!r}: type {family!r} is not one of {', '.join(FAMILIES)}"
            )
        out[column] = family  # type: ignore[assignment]
    return out


def arrow_family(arrow_type: Any) -> Family | None:
    """The family of a pyarrow type (None when it is none of ours: a list, a struct)."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    return None


def duckdb_family(type_name: str) -> Family | None:
    """The family of a DuckDB type name (``DESCRIBE``'s column_type)."""
    t = type_name.upper()
    if t in ("VARCHAR", "TEXT", "STRING") or t.startswith("VARCHAR("):
        return "string"
    if t.startswith(("TIMESTAMP",)):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t in ("BOOLEAN", "BOOL"):
        return "bool"
    if t in ("BLOB", "BYTEA"):
        return "binary"
    if t.startswith("DECIMAL") or t in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
        "FLOAT",
        "DOUBLE",
        "REAL",
    ):
        return "number"
    return None


def check_table(
    table: str,
    have: Mapping[str, Family | None],
    needed: Sequence[str],
    expected: Mapping[str, Family],
    *,
    where: str,
) -> None:
    """Every needed column exists (case-insensitively: engines fold case) with its expected family, else an
    ``AudienceInputError`` naming the table, the column and both types. ``None`` in ``have`` means "could not
    tell" (a driver without type objects for it) and passes."""
    folded = {k.lower(): v for k, v in have.items()}
    missing = [c for c in needed if c.lower() not in folded]
    if missing:
        raise AudienceInputError(
            f"{where} table {table!r} lacks column(s) {', '.join(missing)} (has: {', '.join(sorted(have))})"
        )
    for column in needed:
        want = expected.get(column)
        got = folded[column.lower()]
        if want is None or got is None or got == want:
            continue
        if {want, got} == {"timestamp", "date"}:
            continue  # a date compares with a timestamp bound on every engine we run
        raise AudienceInputError(f"{where} table {table!r} column {column!r} is {got}, expected {want}")
