"""The approval step around a guarded sync: what it asks, when it asks nothing, how a timeout reads, and how the sync
reads the answer (the real scheduler and REST flow is tests/scheduler/test_sync_approval_on_scheduler.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_cio.sync.approval import GuardFigures

FIGURES = GuardFigures(
    audience="high_value",
    platform="meta",
    platform_audience="cio/dev/ws/high_value",
    run_id="snap-base",
    snapshot_id="snap",
    snapshot_size=100,
    previous_size=1000,
    expected_size=100,
    adds=0,
    removes=900,
    shrink_ratio=0.9,
    blocked={"max_shrink": "the audience would shrink by 90.0% (1000 -> 100), above the 30% limit"},
    recent_sizes={"dt=2026-11-01": 1000, "dt=2026-11-02": 100},
    gate_report="http://airflow.example/cio/reports/x",
)


class FakeTi:
    """XCom by task id, as the guard check and the approval task leave them."""

    def __init__(self, xcoms: dict[str, Any]) -> None:
        self.xcoms = xcoms
        self.id = "ti-1"

    def xcom_pull(self, task_ids: str) -> Any:
        return self.xcoms.get(task_ids)


def _approval() -> Any:
    from airflow_provider_cio.operators.sync_approval import CioSyncApprovalOperator

    return CioSyncApprovalOperator(
        task_id="approve_meta_high_value",
        guard_check_task_id="guard_meta_high_value",
        response_timeout=timedelta(minutes=30),
    )


@pytest.mark.parametrize("figures", [None, {}, {**FIGURES.to_dict(), "blocked": {}}])
def test_nothing_to_approve_skips_the_request(figures: Any) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    op = _approval()
    with pytest.raises(AirflowSkipException):
        op.execute({"ti": FakeTi({"guard_meta_high_value": figures}), "task_instance": FakeTi({})})


def test_a_blocked_plan_asks_with_its_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow.providers.standard.operators.hitl as hitl

    asked: dict[str, Any] = {}
    monkeypatch.setattr(hitl, "upsert_hitl_detail", lambda **kwargs: asked.update(kwargs))
    op = _approval()
    ti = FakeTi({"guard_meta_high_value": FIGURES.to_dict()})
    with pytest.raises(BaseException) as waiting:  # parks the task: TaskAwaitingInput (Airflow 3.3)
        op.execute({"ti": ti, "task_instance": ti})
    assert type(waiting.value).__name__ in ("TaskAwaitingInput", "TaskDeferred")
    assert asked["options"] == ["Approve", "Reject"] and asked["defaults"] is None
    assert asked["subject"] == "Approve the meta sync of high_value? (max_shrink)"
    for shown in ("1,000", "900", "90.0%", "dt=2026-11-01: 1,000", "[Gate report](http://airflow.example"):
        assert shown in asked["body"]
    assert "#answering-an-approval" in asked["body"]


def test_no_answer_in_time_fails_saying_nothing_was_sent() -> None:
    from airflow_provider_cio.operators.sync_approval import ApprovalTimedOut

    with pytest.raises(ApprovalTimedOut) as late:
        _approval().process_trigger_event_error({"error": "timeout", "error_type": "timeout"})
    assert "0:30:00" in str(late.value) and "sent nothing" in str(late.value)
    assert "untouched" in str(late.value)


@pytest.mark.parametrize(("option", "approved"), [("Approve", True), ("Reject", False)])
def test_the_sync_reads_the_answer_with_who_and_when(option: str, approved: bool) -> None:
    from airflow_provider_cio.operators.sync_approval import read_answer

    at = datetime(2026, 11, 3, 8, 15, tzinfo=UTC)
    answer_xcom = {
        "chosen_options": [option],
        "params_input": {},
        "responded_at": at,
        "responded_by_user": {"id": "u-7", "name": "alice"},
    }
    ti = FakeTi({"guard": FIGURES.to_dict(), "approve": answer_xcom})
    answer = read_answer({"ti": ti}, "guard", "approve")
    assert answer is not None and answer.approved is approved and answer.by == "alice (u-7)"
    assert ("approved" if approved else "rejected") in answer.describe()
    if approved:
        assert answer.override.run_id == "snap-base" and answer.override.guards == ("max_shrink",)
        assert answer.override.approved_at == at.isoformat()
    else:
        assert answer.override is None


def test_no_request_means_no_answer() -> None:
    from airflow_provider_cio.operators.sync_approval import read_answer

    assert read_answer({"ti": FakeTi({"guard": FIGURES.to_dict()})}, "guard", "approve") is None


def test_an_unknown_policy_is_refused_when_the_dag_is_parsed() -> None:
    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator

    with pytest.raises(ValueError, match="on_guard"):
        CioAudienceSyncOperator(
            task_id="s", audience="a", platform="meta", conn_id="c", workspace="ws", on_guard="ask"
        )


def test_a_skip_passes_the_failure_headline_untouched() -> None:
    """A rejected approval or ``on_guard: skip`` skips the sync from inside ``fail_fast``: no "[BUG]" headline."""
    from airflow.sdk.exceptions import AirflowSkipException

    from airflow_provider_cio.operators._failfast import fail_fast

    with pytest.raises(AirflowSkipException) as skipped, fail_fast():
        raise AirflowSkipException("rejected by alice")
    assert str(skipped.value) == "rejected by alice"
