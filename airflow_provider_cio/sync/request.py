"""What one sync is asked to do (``SyncRequest``) and the effects it runs with (``SyncRuntime``).

Two small frozen objects instead of a dozen keyword arguments: the operators build a request from the DAG config and
the run's overrides; tests and chaos workers swap the runtime's clock, sleep and crash hook without touching the
request, so a request reads the same in production and under test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from airflow_provider_cio.landing.layout import LEDGER_ROOT
from airflow_provider_cio.sync.approval import ApprovedOverride
from airflow_provider_cio.sync.destination import Member, Operation
from airflow_provider_cio.sync.guards import Guardrails
from airflow_provider_cio.sync.plan import SyncMode
from airflow_provider_cio.sync.retry import RetryPolicy

AfterBatchHook = Callable[[Operation, int, int], None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SyncRequest:
    """One audience snapshot to sync to one destination, and the rules it is synced under.

    ``as_of`` is the data time the snapshot describes: a snapshot older than the one last synced is skipped as
    ``superseded`` unless ``guards.allow_older``. ``approval`` is on-call's approval of this very plan
    (``sync.approval``): the guards it names are overridden. ``dry_run`` plans and reports, and sends nothing.
    ``ledger_root`` is where the deployment's ledgers live (``landing.layout.ledger_root``).
    """

    audience_name: str
    members: Iterable[Member]
    mode: SyncMode = SyncMode.MIRROR
    guards: Guardrails | None = None  # None: the default guardrails
    quality_passed: bool | None = None
    dry_run: bool = False
    ledger_root: str = LEDGER_ROOT
    description: str = ""
    as_of: datetime | None = None
    approval: ApprovedOverride | None = None


@dataclass(frozen=True)
class SyncRuntime:
    """The effects a sync runs with: retry policy, sleep, wall clock (it dates uploads for membership refresh) and
    ``after_batch(operation, seq, total)``, called after each acknowledged batch is in the ledger (tests use it to
    simulate a crash)."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = _utc_now
    after_batch: AfterBatchHook | None = None
