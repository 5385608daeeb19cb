"""Our DuckDB verdicts equal stock great-expectations on the same suite (clean and dirty data).

Importing GX costs seconds: one module-scoped fixture does it, and only the tests here use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from quality_factories import INTERVAL_END, INTERVAL_START, deliveries, people, to_table, write_parts

from airflow_provider_cio.quality import compile_suite, load_contract, validate_partition


@pytest.fixture(scope="module")
def gx() -> Any:
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations

    return great_expectations


def test_compiled_suite_carries_severity_and_check_names(gx: Any) -> None:
    contract = load_contract("deliveries")
    suite = compile_suite(contract)
    assert isinstance(suite, gx.ExpectationSuite)
    assert suite.name == "deliveries-1.0.0"
    by_check = {e.meta["check"]: e for e in suite.expectations}
    assert list(by_check) == [check.name for check in contract.checks]
    assert by_check["range:campaign_id"].severity.value == "warning"
    assert by_check["unique:delivery_id"].severity.value == "critical"
    assert dict(by_check["identity_coverage:customer_id"].configuration.kwargs) == {
        "column": "customer_id",
        "mostly": 0.95,
    }
    fresh = by_check["freshness:created_at"].configuration
    assert fresh.type == "expect_column_max_to_be_between"
    assert fresh.kwargs["min_value"] == {"$PARAMETER": "freshness_created_at__min_event_time"}


def _dirty_deliveries() -> dict[str, list[object]]:
    c = deliveries(400)
    c["delivery_id"][1:4] = ["dup"] * 3
    c["delivery_type"][5:9] = ["pigeon", None, "EMAIL", ""]
    c["customer_id"][10:40] = [None] * 30
    c["campaign_id"][0:2] = [-5, None]
    c["created_at"] = [INTERVAL_START + timedelta(hours=2)] * 400
    return c


def _dropped_column() -> dict[str, list[object]]:
    c = deliveries(300)
    del c["delivery_type"]
    c["delivery_id"][0] = c["delivery_id"][1]
    c["extra"] = [1.5] * 300
    return c


def _dirty_people() -> dict[str, list[object]]:
    c = people(300)
    c["email"][0:8] = ["no-at-sign", "a@b", "two@@x.io", " sp@ce.io", "ok@x.io", None, "", "q@q.q"]
    c["email"][10:20] = [f"broken{i}.example.com" for i in range(10)]  # past the 5% malformed allowance
    c["email"][100:280] = [None] * 180  # 60% null: the warning null-rate check fails too
    return c


CASES: dict[str, tuple[str, Callable[[], dict[str, list[object]]], list[int]]] = {
    "clean_deliveries": ("deliveries", lambda: deliveries(300), [300, 310, 290]),
    "dirty_deliveries": ("deliveries", _dirty_deliveries, [100, 100, 100]),
    "dropped_column": ("deliveries", _dropped_column, []),
    "dirty_people": ("people", _dirty_people, [300, 300, 300]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_verdicts_identical_to_stock_gx(gx: Any, tmp_path: Path, case: str) -> None:
    dataset, make, history = CASES[case]
    files = write_parts(tmp_path, to_table(dataset, make()))
    contract = load_contract(dataset)
    kwargs: dict[str, Any] = {"interval_end": INTERVAL_END, "trailing_row_counts": history}
    ours = validate_partition(files, contract, engine="duckdb", **kwargs)
    stock = validate_partition(files, contract, engine="gx", **kwargs)
    assert ours.verdicts() == stock.verdicts()
    assert ours.success == stock.success
    assert ours.likely_causes == stock.likely_causes
    for mine, theirs in zip(ours.checks, stock.checks, strict=True):
        assert mine.name == theirs.name
        assert mine.unexpected_count == theirs.unexpected_count, mine.name
        if mine.unexpected_percent is not None or theirs.unexpected_percent is not None:
            assert mine.unexpected_percent == pytest.approx(theirs.unexpected_percent), mine.name
        if (
            mine.expectation_type.startswith("expect_table")
            or mine.expectation_type == "expect_column_max_to_be_between"
        ):
            assert mine.observed == theirs.observed, mine.name
    if case == "clean_deliveries":
        assert ours.success
    else:
        assert sum(not check.success for check in ours.checks) >= 2
