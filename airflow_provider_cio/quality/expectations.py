"""Contract checks as great-expectations expectations (type + kwargs), without importing great_expectations.

Both engines read this one list: ``compile_suite`` turns it into a GX ``ExpectationSuite`` and the DuckDB engine
derives its verdicts from it, so the two can never disagree about what a check means. Thresholds known only at run
time (freshness cut-off, trailing-median row bounds) are GX suite parameters (``{"$PARAMETER": name}``) resolved by
``runtime_parameters``.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_cio.quality.contract import CheckSpec, Contract

CAUSES = ("schema_drift", "upstream_late", "volume_anomaly", "identity_gap", "data_quality")


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation of the suite: the contract check it comes from, the GX type and its kwargs."""

    check: CheckSpec
    expectation_type: str
    kwargs: dict[str, Any]
    cause: str

    def resolved_kwargs(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Kwargs with suite parameters replaced by their run-time values (``None`` bounds dropped, as GX does)."""
        out: dict[str, Any] = {}
        for key, value in self.kwargs.items():
            if isinstance(value, dict) and "$PARAMETER" in value:
                value = parameters.get(value["$PARAMETER"])
            if value is not None:
                out[key] = value
        return out

    @property
    def meta(self) -> dict[str, Any]:
        return {"check": self.check.name, "cause": self.cause, "description": self.check.description}


def parameter_name(check: CheckSpec, what: str) -> str:
    """A GX-safe suite-parameter name (GX parses parameter expressions, so keep to identifier characters)."""
    return re.sub(r"\W", "_", check.name) + "__" + what


def cause_for(check: CheckSpec, contract: Contract) -> str:
    """The likely cause class a failure of ``check`` points to (what on-call should look at first)."""
    if check.kind == "exists":
        return "schema_drift"
    if check.kind == "freshness":
        return "upstream_late"
    if check.kind in ("row_count", "row_count_trend"):
        return "volume_anomaly"
    if check.kind == "identity_coverage":
        return "identity_gap"
    if check.kind in ("not_null", "null_rate") and check.column == contract.identity_column:
        return "identity_gap"
    return "data_quality"


def expectation_specs(contract: Contract) -> list[ExpectationSpec]:
    """Every check of ``contract`` as an expectation, in contract order."""
    return [_spec(check, contract) for check in contract.checks]


def _spec(check: CheckSpec, contract: Contract) -> ExpectationSpec:
    params = check.params
    kwargs: dict[str, Any]
    mostly = {"mostly": check.mostly} if check.mostly < 1.0 else {}
    if check.kind == "exists":
        kind, kwargs = "expect_column_to_exist", {"column": check.column}
    elif check.kind == "not_null":
        kind, kwargs = "expect_column_values_to_not_be_null", {"column": check.column, **mostly}
    elif check.kind == "null_rate":
        kind = "expect_column_values_to_not_be_null"
        kwargs = {"column": check.column, "mostly": 1.0 - params["max_null_rate"]}
    elif check.kind == "identity_coverage":
        kind = "expect_column_values_to_not_be_null"
        kwargs = {"column": check.column, "mostly": params["min_share"]}
    elif check.kind == "unique":
        kind, kwargs = "expect_column_values_to_be_unique", {"column": check.column}
    elif check.kind == "in_set":
        kind = "expect_column_values_to_be_in_set"
        kwargs = {"column": check.column, "value_set": list(params["values"]), **mostly}
    elif check.kind == "range":
        kind = "expect_column_values_to_be_between"
        kwargs = {
            "column": check.column,
            "min_value": params.get("min"),
            "max_value": params.get("max"),
            **mostly,
        }
        kwargs = {key: value for key, value in kwargs.items() if value is not None}
    elif check.kind == "regex":
        kind = "expect_column_values_to_match_regex"
        kwargs = {"column": check.column, "regex": params["pattern"], **mostly}
    elif check.kind == "freshness":
        kind = "expect_column_max_to_be_between"
        kwargs = {
            "column": check.column,
            "min_value": {"$PARAMETER": parameter_name(check, "min_event_time")},
        }
    elif check.kind == "row_count":
        kind = "expect_table_row_count_to_be_between"
        kwargs = {
            key: params[src] for key, src in (("min_value", "min"), ("max_value", "max")) if src in params
        }
    elif check.kind == "row_count_trend":
        kind = "expect_table_row_count_to_be_between"
        kwargs = {
            "min_value": {"$PARAMETER": parameter_name(check, "min_rows")},
            "max_value": {"$PARAMETER": parameter_name(check, "max_rows")},
        }
    else:  # parse_contract only admits known kinds
        raise ValueError(f"unknown check kind {check.kind!r}")
    return ExpectationSpec(check, kind, kwargs, cause_for(check, contract))


@dataclass(frozen=True)
class RuntimeParameters:
    """Suite-parameter values for one run, plus a note per check whose threshold could not be set."""

    values: dict[str, Any]
    notes: dict[str, str]


def runtime_parameters(
    contract: Contract, *, interval_end: datetime, trailing_row_counts: list[int]
) -> RuntimeParameters:
    """Resolve run-time thresholds: freshness cut-off from the interval end, row bounds from the trailing median."""
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    if interval_end.tzinfo is None:
        raise ValueError("interval_end must be timezone-aware (UTC)")
    for check in contract.checks:
        if check.kind == "freshness":
            values[parameter_name(check, "min_event_time")] = interval_end - check.params["max_lag"]
        elif check.kind == "row_count_trend":
            history = int(check.params["min_history"])
            if len(trailing_row_counts) < history:
                values[parameter_name(check, "min_rows")] = 0
                values[parameter_name(check, "max_rows")] = None
                notes[check.name] = (
                    f"not enforced: {len(trailing_row_counts)} trailing partition(s), needs {history}"
                )
                continue
            median = statistics.median(trailing_row_counts)
            low = math.ceil(check.params["min_ratio"] * median)
            high = math.floor(check.params["max_ratio"] * median)
            values[parameter_name(check, "min_rows")] = low
            values[parameter_name(check, "max_rows")] = high
            notes[check.name] = (
                f"trailing median {median:g} rows over {len(trailing_row_counts)} partition(s); "
                f"allowed {check.params['min_ratio']:g}x-{check.params['max_ratio']:g}x"
            )
    return RuntimeParameters(values, notes)
