"""Human approval of a sync a guard would block: the figures on-call decides on, and the override it grants.

A guard (shrink over the limit, too small, no quality verdict) stops a sync before anything is sent. Where the
audience's policy asks a human instead of failing, on-call sees ``GuardFigures`` (counts only, never a member) and
answers; an approval becomes an ``ApprovedOverride`` that lets exactly that plan through and is written into the
run's ledger and report (who, when, the figures). It is bound to the plan's ``run_id`` (the snapshot plus the synced
state it was diffed against): if either changed since on-call looked, the approval does not cover the new plan.
Airflow-free: the HITL wiring is in ``operators/sync_approval.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from airflow_provider_cio.sync.errors import GuardrailBlocked
from airflow_provider_cio.sync.guards import GuardVerdict

OnGuard = Literal["approve", "fail", "skip"]
ON_GUARD: tuple[str, ...] = ("approve", "fail", "skip")


@dataclass(frozen=True)
class GuardFigures:
    """What a blocked plan would do, PII-free: sizes, adds/removes, shrink, the guards that trip, recent sizes."""

    audience: str
    platform: str
    platform_audience: str
    run_id: str
    snapshot_id: str
    snapshot_size: int
    previous_size: int | None
    expected_size: int
    adds: int
    removes: int
    shrink_ratio: float
    blocked: dict[str, str] = field(default_factory=dict)  # guard -> its message
    recent_sizes: dict[str, int] = field(default_factory=dict)  # snapshot partition -> members, oldest first
    gate_report: str = ""

    @property
    def needs_approval(self) -> bool:
        return bool(self.blocked)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> GuardFigures:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in raw.items() if key in known})

    def subject(self) -> str:
        guards = ", ".join(sorted(self.blocked)) or "no guard"
        return f"Approve the {self.platform} sync of {self.audience}? ({guards})"

    def body(self, *, runbook: str = "") -> str:
        """Markdown for the Required Actions page: every figure on-call needs to decide, and where to look."""
        previous = "none (first sync)" if self.previous_size is None else f"{self.previous_size:,}"
        lines = [
            f"**Audience** `{self.audience}` → **{self.platform}** `{self.platform_audience}`",
            "",
            "| | |",
            "|---|---|",
            f"| previous size (last synced) | {previous} |",
            f"| size after this sync | {self.expected_size:,} (snapshot {self.snapshot_size:,}) |",
            f"| adds / removes | {self.adds:,} / {self.removes:,} |",
            f"| shrink | {self.shrink_ratio:.1%} |",
            "",
            "**Blocked by**",
            *(f"- `{guard}`: {message}" for guard, message in sorted(self.blocked.items())),
        ]
        if self.recent_sizes:
            sizes = ", ".join(f"{label}: {rows:,}" for label, rows in self.recent_sizes.items())
            lines += ["", f"**Recent snapshots** (oldest first): {sizes}"]
        if self.gate_report:
            lines += ["", f"[Gate report]({self.gate_report})"]
        lines += [
            "",
            "**Approve**: the sync runs now, with this override recorded (you, the time, these figures) in the "
            "ledger and the run report. **Reject** (or no answer before the timeout): nothing is sent and the "
            "live audience stays as it is.",
        ]
        if runbook:
            lines += ["", f"[Runbook: answering an approval]({runbook})"]
        return "\n".join(lines)


def guard_figures(
    report: Mapping[str, Any],
    *,
    audience: str,
    recent_sizes: Mapping[str, int] | None = None,
    gate_report: str = "",
) -> GuardFigures:
    """The figures of a dry run's ``SyncReport.to_dict()``: its plan and the guards that block without override."""
    plan = report.get("plan") or {}
    blocked = {
        str(g["guard"]): str(g["message"])
        for g in report.get("guards") or ()
        if g.get("blocked") and not g.get("overridden")
    }
    previous = plan.get("previous_size")
    return GuardFigures(
        audience=audience,
        platform=str(report.get("platform", "")),
        platform_audience=str(report.get("audience_name", "")),
        run_id=str(report.get("run_id", "")),
        snapshot_id=str(report.get("snapshot_id", "")),
        snapshot_size=int(plan.get("snapshot_size") or 0),
        previous_size=None if previous is None else int(previous),
        expected_size=int(plan.get("expected_size") or 0),
        adds=int(plan.get("adds") or 0),
        removes=int(plan.get("removes") or 0),
        shrink_ratio=float(plan.get("shrink_ratio") or 0.0),
        blocked=blocked if report.get("status") == "dry_run" else {},
        recent_sizes=dict(recent_sizes or {}),
        gate_report=gate_report,
    )


@dataclass(frozen=True)
class ApprovedOverride:
    """On-call's approval of one plan: the guards it overrides, who approved and when, the figures they saw."""

    run_id: str
    guards: tuple[str, ...]
    approved_by: str
    approved_at: str
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["guards"] = list(self.guards)
        return out


def approve(figures: GuardFigures, *, approved_by: str, approved_at: str) -> ApprovedOverride:
    return ApprovedOverride(
        run_id=figures.run_id,
        guards=tuple(sorted(figures.blocked)),
        approved_by=approved_by,
        approved_at=approved_at,
        figures=figures.to_dict(),
    )


def apply_approval(
    verdicts: Sequence[GuardVerdict], approval: ApprovedOverride, *, run_id: str
) -> list[GuardVerdict]:
    """The verdicts with the approved guards overridden; ``GuardrailBlocked`` when the plan is not the one approved.

    A guard the approval does not name (it tripped only after on-call looked) still blocks."""
    if approval.run_id != run_id:
        raise GuardrailBlocked(
            "approval",
            f"the plan approved by {approval.approved_by} (run {approval.run_id}) is not this one (run {run_id}): "
            "the snapshot or the synced state changed since, so the approval does not cover it",
            override="clear the guard check task to ask again",
        )
    return [
        replace(v, overridden=True, override=f"approved by {approval.approved_by}")
        if v.blocked and not v.overridden and v.guard in approval.guards
        else v
        for v in verdicts
    ]
