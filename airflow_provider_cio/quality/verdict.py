"""GX's verdict rules, restated on plain numbers so the DuckDB engine decides exactly as stock GX would.

Column-map expectations (GX ``ColumnMapExpectation._validate``): nulls are ignored; with no non-null rows the check
passes vacuously; otherwise it passes when ``(nonnull - unexpected) / nonnull >= mostly``, and
``unexpected_percent`` is relative to the non-null rows. ``expect_column_values_to_not_be_null`` counts over all
rows instead. Bounds are inclusive (``strict_min``/``strict_max`` are never set by our contracts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_provider_cio.quality.expectations import ExpectationSpec

NOT_NULL = "expect_column_values_to_not_be_null"
COLUMN_MAP = {
    NOT_NULL,
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
}


def mostly_success(considered: int, unexpected: int, mostly: float) -> bool:
    """GX ``_mostly_success`` (same float arithmetic, so the same answer at the boundary)."""
    return (float(considered) - float(unexpected)) / float(considered) >= mostly


def map_verdict(
    expectation_type: str, *, rows: int, nulls: int, unexpected: int, mostly: float
) -> tuple[bool, float | None]:
    """(success, unexpected_percent) of a column-map expectation, from counts."""
    if expectation_type == NOT_NULL:
        if rows == 0:
            return True, None
        return mostly_success(rows, unexpected, mostly), unexpected / rows * 100
    nonnull = rows - nulls
    if rows == 0 or nonnull == 0:
        return True, None
    return mostly_success(nonnull, unexpected, mostly), unexpected / nonnull * 100


def bounds_verdict(observed: Any, kwargs: dict[str, Any]) -> bool:
    """Inclusive ``min_value <= observed <= max_value`` (missing bounds are open)."""
    if observed is None:
        return False
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    return (low is None or observed >= low) and (high is None or observed <= high)


def _fmt(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def threshold_text(spec: ExpectationSpec, kwargs: dict[str, Any]) -> str:
    """The rule in words, as on-call reads it (value sets and patterns are contract text, not data)."""
    kind = spec.expectation_type
    mostly = kwargs.get("mostly", 1.0)
    share = f" for at least {mostly * 100:.4g}% of rows" if mostly < 1.0 else ""
    if kind == "expect_column_to_exist":
        return "column present"
    if kind == NOT_NULL:
        if spec.check.kind == "identity_coverage":
            return f"identity coverage (non-null {spec.check.column}) >= {mostly * 100:.4g}%"
        return f"non-null share >= {mostly * 100:.4g}%" if mostly < 1.0 else "no nulls"
    if kind == "expect_column_values_to_be_unique":
        return "all non-null values unique"
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(str(value) for value in kwargs.get("value_set", []))
        return f"values in {{{values}}}{share}"
    if kind == "expect_column_values_to_match_regex":
        return f"values match /{kwargs.get('regex')}/{share}"
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and high is not None:
        bound = f"between {_fmt(low)} and {_fmt(high)}"
    elif low is not None:
        bound = f">= {_fmt(low)}"
    elif high is not None:
        bound = f"<= {_fmt(high)}"
    else:
        bound = "any value"
    if kind == "expect_column_values_to_be_between":
        return f"values {bound}{share}"
    if kind == "expect_column_max_to_be_between":
        return f"latest {spec.check.column} {bound}"
    if kind == "expect_table_row_count_to_be_between":
        return f"row count {bound}"
    return str(kwargs)


def observed_text(expectation_type: str, *, rows: int, nulls: int, unexpected: int) -> str:
    """What a column-map check saw, in words (counts only)."""
    if expectation_type == NOT_NULL:
        share = (rows - unexpected) / rows * 100 if rows else 0.0
        return f"{share:.4g}% non-null ({rows - unexpected:,} of {rows:,})"
    return f"{unexpected:,} of {rows - nulls:,} non-null rows unexpected"
