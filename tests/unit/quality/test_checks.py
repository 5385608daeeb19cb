"""Each check type passes on clean data and fails on seeded dirt (our DuckDB engine), with a useful message."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from quality_factories import INTERVAL_END, INTERVAL_START, deliveries, people, to_table, write_parts

from airflow_provider_cio.quality import (
    EmptyPartition,
    GateResult,
    PartitionInconsistent,
    QualityGateFailed,
    load_contract,
    validate_partition,
)
from airflow_provider_cio.quality.masking import mask_value

HISTORY = [200, 210, 190]


def run(tmp_path: Path, dataset: str, columns: dict[str, list[object]], **kwargs: object) -> GateResult:
    files = write_parts(tmp_path / "part", to_table(dataset, columns))
    options: dict[str, object] = {"interval_end": INTERVAL_END, "trailing_row_counts": HISTORY}
    options.update(kwargs)
    return validate_partition(files, load_contract(dataset), partition="dt=2026-03-01", **options)  # type: ignore[arg-type]


def failed(result: GateResult) -> set[str]:
    return {check.name for check in result.checks if not check.success}


@pytest.mark.parametrize("dataset", ["deliveries", "people"])
def test_clean_partition_passes_every_check(tmp_path: Path, dataset: str) -> None:
    columns = deliveries() if dataset == "deliveries" else people()
    result = run(tmp_path, dataset, columns)
    assert result.success, result.on_call_message()
    assert failed(result) == set()
    assert result.rows == 200
    assert result.drift == []
    trend = next(check for check in result.checks if check.name == "row_count_trend")
    assert trend.observed == 200 and trend.threshold == "row count between 100 and 600"


def _dup(c: dict[str, list[object]]) -> None:
    c["delivery_id"][3] = c["delivery_id"][4]


def _null_required(c: dict[str, list[object]]) -> None:
    c["delivery_type"][10] = None


def _out_of_set(c: dict[str, list[object]]) -> None:
    c["delivery_type"][0:3] = ["carrier_pigeon"] * 3


def _identity_gap(c: dict[str, list[object]]) -> None:
    c["customer_id"][0:20] = [None] * 20  # 90% coverage < 95%


def _late(c: dict[str, list[object]]) -> None:
    c["created_at"] = [INTERVAL_START + timedelta(hours=1)] * len(c["created_at"])


def _range(c: dict[str, list[object]]) -> None:
    c["campaign_id"][0] = -1


@pytest.mark.parametrize(
    ("seed", "check", "severity", "cause", "threshold", "observed"),
    [
        (
            _dup,
            "unique:delivery_id",
            "critical",
            "data_quality",
            "all non-null values unique",
            "2 of 200 non-null",
        ),
        (_null_required, "not_null:delivery_type", "critical", "data_quality", "no nulls", "99.5% non-null"),
        (
            _out_of_set,
            "in_set:delivery_type",
            "critical",
            "data_quality",
            "values in {email, push",
            "3 of 200",
        ),
        (
            _identity_gap,
            "identity_coverage:customer_id",
            "critical",
            "identity_gap",
            ">= 95%",
            "90% non-null",
        ),
        (_late, "freshness:created_at", "critical", "upstream_late", ">= 2026-03-01T18:00:00+00:00", "01:00"),
        (_range, "range:campaign_id", "warning", "data_quality", "values >= 0", "1 of 200"),
    ],
)
def test_seeded_dirt_fails_the_right_check(
    tmp_path: Path,
    seed: Callable[[dict[str, list[object]]], None],
    check: str,
    severity: str,
    cause: str,
    threshold: str,
    observed: str,
) -> None:
    columns = deliveries()
    seed(columns)
    result = run(tmp_path, "deliveries", columns)
    assert failed(result) == {check}
    found = next(c for c in result.checks if c.name == check)
    assert found.severity == severity and found.cause == cause
    assert threshold in found.threshold
    assert observed in str(found.observed)
    assert result.success is (severity == "warning")
    message = result.on_call_message()
    assert check in message and threshold in message
    if severity == "critical":
        assert f"Likely cause: {cause}" in message
        assert "Blocking failures (1)" in message
    else:
        assert "Warnings (non-blocking, 1)" in message and "PASSED" in message


def test_unique_counts_every_duplicated_row_like_gx(tmp_path: Path) -> None:
    columns = deliveries()
    columns["delivery_id"][0:3] = ["dup"] * 3
    columns["delivery_id"][3] = None  # nulls are not duplicates
    columns["delivery_id"][4] = None
    check = next(c for c in run(tmp_path, "deliveries", columns).checks if c.name == "unique:delivery_id")
    assert check.unexpected_count == 3
    assert check.unexpected_percent == pytest.approx(3 / 198 * 100)


@pytest.mark.parametrize(
    ("rows", "expected"), [(90, "row_count_trend"), (700, "row_count_trend"), (150, None)]
)
def test_volume_anomaly_against_trailing_median(tmp_path: Path, rows: int, expected: str | None) -> None:
    result = run(tmp_path, "deliveries", deliveries(rows))
    assert failed(result) == ({expected} if expected else set())
    if expected:
        assert result.likely_causes == ["volume_anomaly"]


def test_absolute_row_count_and_short_history(tmp_path: Path) -> None:
    result = run(tmp_path, "deliveries", deliveries(5), trailing_row_counts=[1_000_000])
    trend = next(c for c in result.checks if c.name == "row_count_trend")
    assert trend.success and "not enforced: 1 trailing partition(s), needs 3" in (trend.note or "")


def test_email_regex_fails_with_masked_samples_only(tmp_path: Path) -> None:
    columns = people()
    columns["email"][0:5] = ["jane.doe.example.com", "bob@", "@nohost.io", "x y@z.com", "ok@fine.org"]
    columns["email"][10:20] = [f"broken{i}.example.com" for i in range(10)]  # 14 of 200 = 7% > the 5% allowed
    result = run(tmp_path, "people", columns)
    check = next(c for c in result.checks if c.name == "email_shape")
    assert not check.success and check.unexpected_count == 14
    assert check.unexpected_percent == pytest.approx(7.0)
    assert check.samples and all(s.startswith("sha256:") or "***@" in s for s in check.samples)
    published = result.on_call_message() + json.dumps(result.to_dict(), default=str)
    for raw in ("jane.doe.example.com", "bob@", "@nohost.io", "x y@z.com"):
        assert raw not in published


def test_email_samples_are_masked_not_hashed(tmp_path: Path) -> None:
    columns = people()
    columns["customer_id"][1] = columns["customer_id"][0]
    assert mask_value("jane@example.com") == "j***@example.com"
    assert mask_value("c00001").startswith("sha256:") and len(mask_value("c00001")) == 17
    result = run(tmp_path, "people", columns)
    check = next(c for c in result.checks if c.name == "unique:customer_id")
    assert check.samples == [mask_value("c00000")]
    assert "c00000" not in result.on_call_message()


def test_null_rate_warning_does_not_block(tmp_path: Path) -> None:
    columns = people()
    columns["email"] = [None] * 150 + columns["email"][150:]
    result = run(tmp_path, "people", columns)
    assert failed(result) == {"null_rate:email"}
    assert result.success and result.warnings[0].severity == "warning"


def test_new_column_is_a_warning_and_passes(tmp_path: Path) -> None:
    columns = deliveries()
    columns["utm_source"] = ["x"] * 200
    result = run(tmp_path, "deliveries", columns)
    assert result.success
    assert [(f.kind, f.column, f.severity) for f in result.drift] == [("new_column", "utm_source", "warning")]
    assert "new column 'utm_source'" in result.on_call_message()


def test_dropped_column_is_critical(tmp_path: Path) -> None:
    columns = deliveries()
    del columns["delivery_type"]
    result = run(tmp_path, "deliveries", columns)
    assert not result.success
    assert failed(result) == {"exists:delivery_type", "not_null:delivery_type", "in_set:delivery_type"}
    assert [(f.kind, f.severity) for f in result.drift] == [("missing_column", "critical")]
    assert result.likely_causes == ["schema_drift"]
    assert "column 'delivery_type' (string) is missing" in result.on_call_message()


def test_retyped_column_is_critical(tmp_path: Path) -> None:
    columns = deliveries()
    columns["campaign_id"] = [str(v) for v in columns["campaign_id"]]
    table = to_table("deliveries", {k: v for k, v in columns.items() if k != "campaign_id"})
    import pyarrow as pa

    table = table.add_column(3, "campaign_id", pa.array(columns["campaign_id"], pa.string()))
    files = write_parts(tmp_path / "p", table)
    result = validate_partition(
        files, load_contract("deliveries"), interval_end=INTERVAL_END, trailing_row_counts=[]
    )
    assert not result.success
    assert [(f.kind, f.expected_type, f.actual_type) for f in result.drift] == [
        ("retyped_column", "int64", "string")
    ]
    assert result.likely_causes == ["schema_drift"]
    range_check = next(c for c in result.checks if c.name == "range:campaign_id")
    assert not range_check.success and "column retyped to string: not evaluated" in (range_check.note or "")
    assert "changed type: contract int64, found string" in result.on_call_message()


def test_empty_partition_is_a_specific_error(tmp_path: Path) -> None:
    files = write_parts(tmp_path / "p", to_table("deliveries", deliveries(0)), parts=1)
    with pytest.raises(EmptyPartition, match="deliveries dt=2026-03-01 holds zero rows"):
        validate_partition(
            files, load_contract("deliveries"), interval_end=INTERVAL_END, partition="dt=2026-03-01"
        )
    with pytest.raises(EmptyPartition):
        validate_partition([], load_contract("deliveries"), interval_end=INTERVAL_END)


def test_manifest_row_count_disagreeing_with_files(tmp_path: Path) -> None:
    files = write_parts(tmp_path / "p", to_table("deliveries", deliveries(50)))
    with pytest.raises(PartitionInconsistent, match="manifest says 60 rows, files hold 50"):
        validate_partition(files, load_contract("deliveries"), interval_end=INTERVAL_END, manifest_rows=60)


def test_summary_is_small_and_sample_free(tmp_path: Path) -> None:
    columns = deliveries()
    _dup(columns)
    _identity_gap(columns)
    result = run(tmp_path, "deliveries", columns)
    summary = result.to_summary()
    assert summary["success"] is False
    assert summary["failed_critical"] == ["unique:delivery_id", "identity_coverage:customer_id"]
    assert summary["likely_causes"] == ["identity_gap", "data_quality"]
    encoded = json.dumps(summary)
    assert len(encoded) < 1500 and "sha256:" not in encoded and "d000004" not in encoded


def test_quality_gate_failed_carries_result_and_error_class(tmp_path: Path) -> None:
    columns = deliveries()
    _out_of_set(columns)
    result = run(tmp_path, "deliveries", columns)
    error = QualityGateFailed(result)
    assert error.result is result and error.error_class == "upstream_data"
    assert str(error) == result.on_call_message()
    assert "in_set:delivery_type" in str(
        error
    ) and "3 of 200 non-null rows unexpected = 1.5% unexpected" in str(error)
