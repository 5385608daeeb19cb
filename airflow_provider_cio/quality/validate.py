"""Validate one partition's Parquet files against a contract: drift, run-time thresholds, then the checks."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from airflow_provider_cio.quality.contract import Contract
from airflow_provider_cio.quality.drift import schema_drift
from airflow_provider_cio.quality.errors import EmptyPartition, PartitionInconsistent
from airflow_provider_cio.quality.expectations import expectation_specs, runtime_parameters
from airflow_provider_cio.quality.result import GateResult

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

Engine = Literal["duckdb", "gx"]


def read_partition_schema(files: list[Path]) -> tuple[pa.Schema, int]:
    """The union of the parts' schemas (first type seen wins) and the total row count, from footers only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields: dict[str, pa.Field] = {}
    rows = 0
    for path in files:
        metadata = pq.read_metadata(path)
        rows += metadata.num_rows
        for schema_field in metadata.schema.to_arrow_schema():
            fields.setdefault(schema_field.name, schema_field)
    return pa.schema(list(fields.values())), rows


def validate_partition(
    files: list[Path],
    contract: Contract,
    *,
    interval_start: datetime | None = None,
    interval_end: datetime,
    trailing_row_counts: list[int] | None = None,
    manifest_rows: int | None = None,
    partition: str = "",
    engine: Engine = "duckdb",
    absent_at_source: list[str] | None = None,
) -> GateResult:
    """Judge one partition. Raises ``EmptyPartition`` for zero rows and ``PartitionInconsistent`` when the files'
    row count disagrees with ``manifest_rows``; a failed check is a result, not an exception."""
    started = time.perf_counter()
    label = partition or (files[0].parent.name if files else "<no files>")
    schema, rows = read_partition_schema(files) if files else (None, 0)
    if manifest_rows is not None and rows != manifest_rows:
        raise PartitionInconsistent(
            f"partition {contract.dataset} {label}: manifest says {manifest_rows:,} rows, files hold {rows:,}"
        )
    if schema is None or rows == 0:
        raise EmptyPartition(
            f"partition {contract.dataset} {label} holds zero rows: nothing to validate "
            f"(was the export empty, or did landing filter everything out?)"
        )
    drift = schema_drift(contract, schema, absent_at_source or [])
    retyped = {finding.column for finding in drift if finding.kind == "retyped_column"}
    parameters = runtime_parameters(
        contract, interval_end=interval_end, trailing_row_counts=trailing_row_counts or []
    )
    if engine == "duckdb":
        from airflow_provider_cio.quality.duckdb_engine import evaluate_with_duckdb

        specs = [(spec, spec.resolved_kwargs(parameters.values)) for spec in expectation_specs(contract)]
        column_types = {field.name: str(field.type) for field in schema}
        counted, checks = evaluate_with_duckdb(files, specs, column_types, retyped=retyped)
    elif engine == "gx":
        from airflow_provider_cio.quality.gx_engine import evaluate_with_gx

        counted, checks = evaluate_with_gx(files, contract, parameters.values)
    else:
        raise ValueError(f"unknown engine {engine!r}: 'duckdb' or 'gx'")
    drifted = {f.column for f in drift if f.severity == "critical" or f.kind == "missing_at_source"}
    for check in checks:
        if not check.success and check.column in drifted:
            check.cause = "schema_drift"  # the check failed because its column is gone or retyped
        note = parameters.notes.get(check.name)
        if note:
            check.note = f"{check.note}; {note}" if check.note else note
    result = GateResult(
        dataset=contract.dataset,
        partition=label,
        contract_version=contract.version,
        engine=engine,
        rows=counted,
        checks=checks,
        drift=drift,
        interval_start=interval_start.isoformat() if interval_start else None,
        interval_end=interval_end.isoformat(),
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info(
        "quality gate %s %s: %s (%d rows, %d checks, %d blocking, %d warnings, %.2f s)",
        contract.dataset,
        label,
        "pass" if result.success else "FAIL",
        counted,
        len(checks),
        len(result.blocking_failures),
        len(result.warnings),
        result.seconds or 0.0,
    )
    return result
