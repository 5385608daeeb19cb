"""Data contracts and the quality gate (Airflow-free; heavy imports happen inside functions).

Entry points: ``load_contract`` (shipped YAML or a user override), ``compile_suite`` (a GX ExpectationSuite),
``validate_partition`` (local Parquet files), ``run_gate`` (a landed partition in an ObjectStore).
"""

from airflow_provider_cio.quality.contract import CheckSpec, ColumnSpec, Contract, parse_contract
from airflow_provider_cio.quality.drift import DriftFinding
from airflow_provider_cio.quality.errors import (
    ContractError,
    ContractNotFound,
    EmptyPartition,
    GateInputError,
    PartitionInconsistent,
    PartitionMissing,
    QualityGateFailed,
)
from airflow_provider_cio.quality.gate import run_gate
from airflow_provider_cio.quality.loader import load_contract, load_contract_file
from airflow_provider_cio.quality.result import CheckResult, GateResult
from airflow_provider_cio.quality.suite import compile_suite
from airflow_provider_cio.quality.validate import validate_partition

__all__ = [
    "CheckResult",
    "CheckSpec",
    "ColumnSpec",
    "Contract",
    "ContractError",
    "ContractNotFound",
    "DriftFinding",
    "EmptyPartition",
    "GateInputError",
    "GateResult",
    "PartitionInconsistent",
    "PartitionMissing",
    "QualityGateFailed",
    "compile_suite",
    "load_contract",
    "load_contract_file",
    "parse_contract",
    "run_gate",
    "validate_partition",
]
