"""Stock great-expectations on the same suite: the reference our engine must agree with, and the benchmark baseline.

Runs the way a user would: read the Parquet parts with pandas, register an in-memory pandas data source and call
``get_batch(...).validate(suite)`` with default settings. Only the result mapping is ours (and it masks samples).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_provider_cio.quality.contract import Contract
from airflow_provider_cio.quality.expectations import ExpectationSpec, expectation_specs
from airflow_provider_cio.quality.masking import mask_samples
from airflow_provider_cio.quality.result import CheckResult
from airflow_provider_cio.quality.suite import compile_suite, import_gx
from airflow_provider_cio.quality.verdict import COLUMN_MAP, observed_text, threshold_text


def read_partition_pandas(files: list[Path]) -> Any:
    """The partition as one pandas frame, as a GX user would load it."""
    import pandas as pd

    frames = [pd.read_parquet(path) for path in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def run_stock_gx(frame: Any, suite: Any, parameters: dict[str, Any]) -> Any:
    """Stock GX validation of ``frame`` (ephemeral context, default result format)."""
    gx = import_gx()
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("gate")
        .add_dataframe_asset("partition")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    return batch.validate(suite, expectation_parameters=parameters)


def evaluate_with_gx(
    files: list[Path], contract: Contract, parameters: dict[str, Any]
) -> tuple[int, list[CheckResult]]:
    """Row count and one ``CheckResult`` per contract check, decided by stock GX."""
    frame = read_partition_pandas(files)
    validation = run_stock_gx(frame, compile_suite(contract), parameters)
    specs = {spec.check.name: spec for spec in expectation_specs(contract)}
    by_name = {result.expectation_config.meta["check"]: result for result in validation.results}
    results = [_to_check_result(spec, by_name[name], parameters) for name, spec in specs.items()]
    return len(frame), results


def _to_check_result(spec: ExpectationSpec, gx_result: Any, parameters: dict[str, Any]) -> CheckResult:
    kwargs = spec.resolved_kwargs(parameters)
    detail: dict[str, Any] = gx_result.result or {}
    result = CheckResult(
        name=spec.check.name,
        expectation_type=spec.expectation_type,
        column=kwargs.get("column"),
        severity=spec.check.severity,
        success=bool(gx_result.success),
        threshold=threshold_text(spec, kwargs),
        cause=spec.cause,
    )
    exception = gx_result.exception_info or {}
    if exception.get("raised_exception"):
        result.note = (
            "GX could not evaluate: " + str(exception.get("exception_message", "")).splitlines()[0][:200]
        )
    if spec.expectation_type == "expect_column_to_exist":
        result.observed = "present" if result.success else "missing"
    elif spec.expectation_type in COLUMN_MAP and "unexpected_count" in detail:
        rows = int(detail.get("element_count") or 0)
        unexpected = int(detail["unexpected_count"] or 0)
        nulls = int(detail.get("missing_count") or 0)
        result.unexpected_count, result.element_count = unexpected, rows
        percent = detail.get("unexpected_percent")
        result.unexpected_percent = None if percent is None or math.isnan(percent) else float(percent)
        result.observed = observed_text(spec.expectation_type, rows=rows, nulls=nulls, unexpected=unexpected)
        if not result.success and spec.expectation_type != "expect_column_values_to_not_be_null":
            result.samples = mask_samples(detail.get("partial_unexpected_list") or [])
    elif "observed_value" in detail:
        observed = detail["observed_value"]
        result.observed = observed.isoformat() if isinstance(observed, datetime) else _plain(observed)
    return result


def _plain(value: Any) -> Any:
    """numpy scalars -> Python, so results serialise to JSON."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
