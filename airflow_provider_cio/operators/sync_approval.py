"""``CioSyncApprovalOperator``: ask on-call in the Airflow UI (Required Actions) before a guarded sync runs.

Airflow 3's human-in-the-loop operator (standard provider): the task waits for an answer given in the UI or through
the REST API (``PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}/-1/hitlDetails`` with
``{"chosen_options": ["Approve"]}``), for at most ``response_timeout``. Its answer (who, when, what) is its XCom; the
sync task reads it (``read_answer``) and syncs with the approval recorded, or skips. No answer in time fails this
task (``ApprovalTimedOut``, no retry): nobody decided, so on-call is paged, nothing is sent, the sync is
``upstream_failed`` and the live audience stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_cio.errors import CioError, ErrorClass

if TYPE_CHECKING:
    from airflow.sdk import Context


APPROVE = "Approve"
REJECT = "Reject"


class ApprovalTimedOut(CioError, AirflowFailException):
    """Nobody answered an approval request in time: the guarded sync sent nothing (not retried: a retry would only
    ask again; clearing the task does that on purpose)."""

    error_class = ErrorClass.UPSTREAM_DATA


class CioSyncApprovalOperator(HITLOperator):
    """Asks whether the sync that ``guard_check_task_id``'s plan describes may run although a guard would block it.

    The request shows that task's ``GuardFigures`` (audience, destination, previous and new size, adds/removes,
    shrink, the last snapshots' sizes, the gate report link: counts only, no member). Skips itself when no guard
    would block (or in a dry run): the sync then runs as usual.
    """

    ui_color = "#fadbd8"

    def __init__(
        self,
        *,
        guard_check_task_id: str,
        response_timeout: timedelta | None = timedelta(hours=4),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            subject="Approve a guarded audience sync?",
            options=[APPROVE, REJECT],
            multiple=False,
            response_timeout=response_timeout,
            **kwargs,
        )
        self.guard_check_task_id = guard_check_task_id

    def execute(self, context: Context) -> Any:
        from airflow.sdk.exceptions import AirflowSkipException

        from airflow_provider_cio.notifications.links import runbook_base
        from airflow_provider_cio.sync.approval import GuardFigures

        raw = context["ti"].xcom_pull(task_ids=self.guard_check_task_id)
        figures = GuardFigures.from_dict(raw) if raw else None
        if figures is None or not figures.needs_approval:
            self.log.info("no guard would block the sync: nothing to approve")
            raise AirflowSkipException("no guard would block the sync: nothing to approve")
        self.subject = figures.subject()
        self.body = figures.body(runbook=f"{runbook_base()}#answering-an-approval")
        self.log.warning(
            "%s %s: waiting for on-call to approve or reject (Required Actions; timeout %s): %s",
            figures.platform,
            figures.audience,
            self.response_timeout,
            "; ".join(f"{g}: {m}" for g, m in sorted(figures.blocked.items())),
        )
        return super().execute(context)

    def process_trigger_event_error(self, event: dict[str, Any]) -> None:
        if event.get("error_type") == "timeout":
            raise ApprovalTimedOut(
                f"nobody approved or rejected within {self.response_timeout}: the sync sent nothing and the live "
                "audience is untouched. To sync this snapshot, clear this task (it asks again) or trigger a run "
                "with the guard's override (who must act: on-call)"
            )
        super().process_trigger_event_error(event)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        result = super().execute_complete(context, event)
        chosen = list(result["chosen_options"])
        who = _user(result.get("responded_by_user"))
        self.log.warning(
            "%s by %s: %s",
            chosen[0] if chosen else "?",
            who,
            "the sync runs with the override recorded"
            if APPROVE in chosen
            else "the sync is skipped, nothing is sent",
        )
        return result


@dataclass(frozen=True)
class Answer:
    """On-call's answer as the sync reads it."""

    approved: bool
    by: str
    at: str
    override: Any  # sync.approval.ApprovedOverride when approved, else None
    figures: Any  # sync.approval.GuardFigures

    def describe(self) -> str:
        guards = ", ".join(sorted(self.figures.blocked)) or "none"
        verb = "approved" if self.approved else "rejected"
        return (
            f"guard(s) {guards} {verb} by {self.by} at {self.at} ({self.figures.previous_size} -> "
            f"{self.figures.expected_size} members, {self.figures.shrink_ratio:.1%} shrink)"
        )


def read_answer(context: Context, guard_check_task_id: str, approval_task_id: str) -> Answer | None:
    """The approval task's answer for this run, None when it asked nothing (skipped: no guard would block)."""
    from airflow_provider_cio.sync.approval import GuardFigures, approve

    ti = context["ti"]
    result = ti.xcom_pull(task_ids=approval_task_id)
    raw = ti.xcom_pull(task_ids=guard_check_task_id)
    if not result or not raw:
        return None
    figures = GuardFigures.from_dict(raw)
    by = _user(result.get("responded_by_user"))
    at = result.get("responded_at")
    at = at.isoformat() if isinstance(at, datetime) else str(at or "")
    approved = APPROVE in list(result.get("chosen_options") or ())
    override = approve(figures, approved_by=by, approved_at=at) if approved else None
    return Answer(approved=approved, by=by, at=at, override=override, figures=figures)


def _user(user: Any) -> str:
    """``name (id)`` of the HITL user who answered; "nobody" for a default applied at timeout."""
    if not user:
        return "nobody"
    name, uid = str(user.get("name") or ""), str(user.get("id") or "")
    return name if not uid or uid == name else f"{name} ({uid})"
