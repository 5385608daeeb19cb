"""Contracts: the shipped ones match datasets.py, user overrides win, and broken contracts fail with clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from quality_factories import INTERVAL_END

from airflow_provider_cio.datasets import DATASET_COLUMNS, DATASET_KEYS, DATASET_TIME_COLUMN
from airflow_provider_cio.quality import ContractError, ContractNotFound, load_contract, parse_contract
from airflow_provider_cio.quality.expectations import expectation_specs, runtime_parameters

MINIMAL = """
dataset: deliveries
version: "2.0.0"
columns:
  - {name: delivery_id, type: string, required: true}
checks:
  - {type: row_count, min: 10}
"""


@pytest.mark.parametrize("dataset", sorted(DATASET_COLUMNS))
def test_shipped_contract_matches_the_landed_schema(dataset: str) -> None:
    contract = load_contract(dataset)
    assert contract.dataset == dataset
    assert contract.version == ("1.1.0" if dataset == "people" else "1.0.0")  # people 1.1.0: absent_severity
    assert [(c.name, c.type, c.required) for c in contract.columns] == DATASET_COLUMNS[dataset]
    assert contract.primary_key == DATASET_KEYS[dataset]
    kinds = {check.kind for check in contract.checks}
    assert {"exists", "not_null", "unique", "freshness", "row_count", "row_count_trend"} <= kinds
    freshness = next(check for check in contract.checks if check.kind == "freshness")
    assert freshness.column == DATASET_TIME_COLUMN[dataset]


def test_user_directory_takes_precedence_over_the_shipped_contract(tmp_path: Path) -> None:
    (tmp_path / "deliveries.yaml").write_text(MINIMAL)
    contract = load_contract("deliveries", search_paths=[tmp_path])
    assert contract.version == "2.0.0"
    assert contract.source == str(tmp_path / "deliveries.yaml")
    assert load_contract("people", search_paths=[tmp_path]).version == "1.1.0"  # falls back to shipped


def test_unknown_dataset_names_what_was_searched(tmp_path: Path) -> None:
    with pytest.raises(ContractNotFound) as info:
        load_contract("orders", search_paths=[tmp_path])
    message = str(info.value)
    assert "no contract for dataset 'orders'" in message
    assert str(tmp_path) in message
    assert "deliveries" in message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.yaml"
    path.write_text('dataset: deliveries\nversion: "1.0.0"\ncolumns: [\n  - oops: {\n')
    with pytest.raises(ContractError) as info:
        load_contract("deliveries", search_paths=[tmp_path])
    assert str(path) in str(info.value)
    assert "line " in info.value.field
    assert "not valid YAML" in info.value.problem


def test_file_declaring_another_dataset_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "people.yaml").write_text(MINIMAL)
    with pytest.raises(ContractError, match="declares 'deliveries'"):
        load_contract("people", search_paths=[tmp_path])


@pytest.mark.parametrize(
    ("patch", "field", "problem"),
    [
        ({"version": "1.0"}, "version", "semantic version"),
        ({"version": 1.0}, "version", "non-empty string"),
        ({"columns": [{"name": "a", "type": "varchar"}]}, "columns[0].type", "unknown type"),
        ({"checks": [{"type": "sometimes"}]}, "checks[0].type", "unknown check type"),
        ({"checks": [{"type": "regex", "column": "delivery_id"}]}, "checks[0].pattern", "needs 'pattern'"),
        (
            {"checks": [{"type": "regex", "column": "delivery_id", "pattern": "("}]},
            "checks[0].pattern",
            "invalid",
        ),
        (
            {"checks": [{"type": "regex", "column": "delivery_id", "pattern": "(?!x)"}]},
            "checks[0].pattern",
            "RE2",
        ),
        (
            {"checks": [{"type": "in_set", "column": "nope", "values": ["a"]}]},
            "checks[0].column",
            "not a declared",
        ),
        ({"checks": [{"type": "row_count", "min": 1, "maxx": 2}]}, "checks[0].maxx", "unknown key"),
        (
            {"checks": [{"type": "freshness", "column": "delivery_id", "max_lag": "soon"}]},
            "checks[0].max_lag",
            "duration",
        ),
        (
            {"checks": [{"type": "row_count", "min": 1, "severity": "fatal"}]},
            "checks[0].severity",
            "not one of",
        ),
        (
            {"checks": [{"type": "null_rate", "column": "delivery_id", "max_null_rate": 5}]},
            "checks[0].max_null_rate",
            "fraction",
        ),
        ({"primary_key": "id"}, "primary_key", "not a declared column"),
        (
            {"checks": [{"type": "range", "column": "delivery_id", "min": 0}]},
            "checks[0].column",
            "int64 or float64",
        ),
        (
            {"checks": [{"type": "in_set", "column": "delivery_id", "values": [1, 2]}]},
            "checks[0].values",
            "string",
        ),
    ],
)
def test_invalid_contract_names_field_and_problem(patch: dict[str, object], field: str, problem: str) -> None:
    data: dict[str, object] = {
        "dataset": "deliveries",
        "version": "1.0.0",
        "columns": [{"name": "delivery_id", "type": "string", "required": True}],
    }
    data.update(patch)
    with pytest.raises(ContractError) as info:
        parse_contract(data, source="user/deliveries.yaml")
    assert info.value.field == field
    assert problem in info.value.problem
    assert str(info.value).startswith("data contract user/deliveries.yaml: field")


def test_runtime_parameters_from_interval_and_trailing_median() -> None:
    contract = load_contract("deliveries")
    params = runtime_parameters(
        contract, interval_end=INTERVAL_END, trailing_row_counts=[100, 90, 1000, 110, 95]
    )
    specs = {spec.check.name: spec for spec in expectation_specs(contract)}
    trend = specs["row_count_trend"].resolved_kwargs(params.values)
    assert trend == {"min_value": 50, "max_value": 300}  # median 100: 50% .. 300%
    fresh = specs["freshness:created_at"].resolved_kwargs(params.values)
    assert fresh == {"column": "created_at", "min_value": INTERVAL_END - timedelta(hours=6)}
    short = runtime_parameters(contract, interval_end=INTERVAL_END, trailing_row_counts=[100])
    assert specs["row_count_trend"].resolved_kwargs(short.values) == {"min_value": 0}
    assert "needs 3" in short.notes["row_count_trend"]
