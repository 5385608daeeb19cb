"""Guardrails that block a sync before anything is sent.

Peers' worst incidents were live audiences wiped by an empty or broken source query. Each guard here names itself
and its override; an override that lets a run through is logged at WARNING so the decision leaves a trace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from airflow_provider_cio.sync.errors import GuardrailBlocked
from airflow_provider_cio.sync.plan import SyncPlan

log = logging.getLogger(__name__)

DEFAULT_MIN_SIZE = 100  # Meta: lists under ~100 people are not useful and some removals are refused
DEFAULT_MAX_SHRINK = 0.30


@dataclass(frozen=True)
class Guardrails:
    """Thresholds and their explicit overrides."""

    min_size: int = DEFAULT_MIN_SIZE
    max_shrink: float = DEFAULT_MAX_SHRINK
    allow_empty: bool = False
    allow_shrink: bool = False
    min_size_override: int | None = None
    ignore_quality_verdict: bool = False
    # send a snapshot older than the one last synced (a deliberate roll-back); otherwise it is skipped as superseded
    allow_older: bool = False


@dataclass(frozen=True)
class GuardVerdict:
    guard: str
    blocked: bool  # would block without its override
    overridden: bool
    message: str
    override: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "guard": self.guard,
            "blocked": self.blocked,
            "overridden": self.overridden,
            "message": self.message,
        }


def evaluate_guards(plan: SyncPlan, guards: Guardrails, *, quality_passed: bool | None) -> list[GuardVerdict]:
    """Every guard's verdict for ``plan`` (no raising, so a dry run can show them all)."""
    verdicts: list[GuardVerdict] = []

    if quality_passed is not True:
        state = "missing" if quality_passed is None else "failed"
        verdicts.append(
            GuardVerdict(
                "quality_verdict",
                True,
                guards.ignore_quality_verdict,
                f"the quality verdict for this snapshot is {state}",
                "ignore_quality_verdict=True",
            )
        )

    if plan.snapshot_size == 0:
        verdicts.append(
            GuardVerdict(
                "empty_snapshot",
                True,
                guards.allow_empty,
                f"the snapshot has 0 members (last synced size {plan.previous_size or 0}); "
                "an empty snapshot never wipes an audience by default",
                "allow_empty=True",
            )
        )

    removes_members = plan.mode in ("mirror", "replace")
    if removes_members and plan.previous_size and plan.shrink_ratio > guards.max_shrink:
        verdicts.append(
            GuardVerdict(
                "max_shrink",
                True,
                guards.allow_shrink,
                f"the audience would shrink by {plan.shrink_ratio:.1%} ({plan.previous_size} -> "
                f"{plan.expected_size}), above the {guards.max_shrink:.0%} limit",
                "allow_shrink=True",
            )
        )

    if plan.snapshot_size > 0 and plan.expected_size < guards.min_size:
        override = guards.min_size_override
        verdicts.append(
            GuardVerdict(
                "min_size",
                True,
                override is not None and plan.expected_size >= override,
                f"the audience would have {plan.expected_size} members, below the minimum of {guards.min_size}",
                f"min_size_override=<n <= {plan.expected_size}>",
            )
        )
    return verdicts


def enforce_guards(verdicts: list[GuardVerdict]) -> list[str]:
    """Raise ``GuardrailBlocked`` for the first guard that blocks without override; log and list overrides used."""
    used: list[str] = []
    for verdict in verdicts:
        if not verdict.blocked:
            continue
        if not verdict.overridden:
            raise GuardrailBlocked(verdict.guard, verdict.message, override=verdict.override)
        log.warning(
            "guard %r would have blocked the sync (%s); override %s used",
            verdict.guard,
            verdict.message,
            verdict.override,
        )
        used.append(verdict.guard)
    return used
