"""Errors of the quality gate, each with the ``error_class`` the on-call notifier routes on.

``upstream_data``: the data (or its landing) is wrong and the producer must act; ``configuration``: a contract is
missing or broken and the contract owner must act.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_cio.errors import CioError, ErrorClass

if TYPE_CHECKING:
    from airflow_provider_cio.quality.result import GateResult


class ContractError(CioError, ValueError):
    """A contract that cannot be used: the message names the file, the field and the problem."""

    error_class = ErrorClass.CONFIGURATION

    def __init__(self, source: str, field: str, problem: str) -> None:
        super().__init__(f"data contract {source}: field {field!r}: {problem}")
        self.source = source
        self.field = field
        self.problem = problem


class ContractNotFound(ContractError):
    """No contract (shipped or user-supplied) exists for the dataset."""

    def __init__(self, dataset: str, searched: list[str], known: list[str]) -> None:
        where = ", ".join(searched) or "(no directories)"
        problem = (
            f"no contract for dataset {dataset!r} (searched {where}; known datasets: {', '.join(known)})"
        )
        super().__init__(f"{dataset}.yaml", "dataset", problem)
        self.dataset = dataset


class GateInputError(CioError, RuntimeError):
    """The gate could not judge the partition at all: nothing to validate, or what is there is inconsistent."""

    error_class = ErrorClass.UPSTREAM_DATA


class EmptyPartition(GateInputError):
    """The partition is committed but holds zero rows: a quality verdict on nothing would be meaningless."""


class PartitionMissing(GateInputError):
    """The partition has no manifest (never landed, or its write did not commit)."""


class PartitionInconsistent(GateInputError):
    """The manifest disagrees with the files (missing part, size/hash or row-count mismatch)."""


class QualityGateFailed(CioError):
    """At least one critical check failed; the message is the on-call summary, ``result`` the full verdict."""

    error_class = ErrorClass.UPSTREAM_DATA

    def __init__(self, result: GateResult) -> None:
        super().__init__(result.on_call_message())
        self.result = result
