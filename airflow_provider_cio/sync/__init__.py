"""Destination-independent audience sync: plan, guardrails, ledger, and the Destination seam.

Entry point: ``run_sync(destination, store, SyncRequest(audience_name=..., members=..., mode=...)) -> SyncReport``
(``SyncRuntime`` swaps retry policy, sleep, clock and the after-batch hook).
"""

from airflow_provider_cio.sync.destination import BatchResult, Destination, Member, SessionState
from airflow_provider_cio.sync.errors import (
    ConfigurationError,
    DataError,
    GuardrailBlocked,
    MembersNotApplied,
    PlatformError,
    StillProcessing,
    SyncError,
)
from airflow_provider_cio.sync.guards import Guardrails
from airflow_provider_cio.sync.plan import SyncMode, SyncPlan
from airflow_provider_cio.sync.report import SyncReport
from airflow_provider_cio.sync.request import SyncRequest, SyncRuntime
from airflow_provider_cio.sync.retry import RetryPolicy
from airflow_provider_cio.sync.runner import run_sync

__all__ = [
    "BatchResult",
    "ConfigurationError",
    "DataError",
    "Destination",
    "Guardrails",
    "GuardrailBlocked",
    "Member",
    "MembersNotApplied",
    "PlatformError",
    "RetryPolicy",
    "SessionState",
    "StillProcessing",
    "SyncError",
    "SyncMode",
    "SyncPlan",
    "SyncReport",
    "SyncRequest",
    "SyncRuntime",
    "run_sync",
]
