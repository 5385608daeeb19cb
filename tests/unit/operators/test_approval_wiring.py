"""How ``gate_and_sync`` wires a guarded sync per the audience's ``on_guard``: gate, guard check, approval, sync for
``approve``; gate, sync for ``fail`` / ``skip``. Built in-process from the shipped config (no DagBag parse)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_cio.dag_config import parse_dag_config

CONFIG = Path(__file__).resolve().parents[3] / "dags" / "config" / "cio.yaml"


def wired(policy: dict[str, Any], *, hourly: bool = False) -> Any:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from airflow_provider_cio.dag_wiring import gate_and_sync

    raw = yaml.safe_load(CONFIG.read_text())
    raw["audiences"]["definitions"] = {"carts": {"destinations": ["meta", "google"], **policy}}
    raw["cart_recovery"]["audiences"] = []
    cfg = parse_dag_config(raw)
    with DAG("wiring", schedule=None) as dag:
        gate_and_sync(EmptyOperator(task_id="build"), cfg.audiences[0], cfg, hourly=hourly)
    return dag


def test_approve_puts_a_guard_check_and_an_approval_between_the_gate_and_each_sync() -> None:
    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator
    from airflow_provider_cio.operators.sync_approval import CioSyncApprovalOperator
    from airflow_provider_cio.operators.sync_guard_check import CioSyncGuardCheckOperator

    dag = wired({"on_guard": "approve", "approval_timeout_minutes": 90})
    for platform in ("meta", "google"):
        sync = dag.get_task(f"sync_{platform}_carts")
        approval = dag.get_task(f"approve_{platform}_carts")
        check = dag.get_task(f"guard_{platform}_carts")
        assert type(sync) is CioAudienceSyncOperator and sync.on_guard == "approve"
        assert isinstance(approval, CioSyncApprovalOperator) and isinstance(check, CioSyncGuardCheckOperator)
        assert sync.upstream_task_ids == {approval.task_id} and approval.upstream_task_ids == {check.task_id}
        assert check.upstream_task_ids == {"gate_carts"} and check.gate_task_id == "gate_carts"
        assert (sync.approval_task_id, sync.guard_check_task_id) == (approval.task_id, check.task_id)
        assert sync.trigger_rule == "none_failed"  # a skipped approval (nothing blocks) lets the sync run
        assert approval.response_timeout == timedelta(minutes=90) and approval.retries == 0
        assert check.platform_audience_name == sync.platform_audience_name and check.preflight is False


def test_an_hourly_request_never_holds_the_next_hour() -> None:
    from airflow_provider_cio.dag_wiring import HOURLY_APPROVAL_MINUTES

    dag = wired({"on_guard": "approve", "approval_timeout_minutes": 240}, hourly=True)
    assert dag.get_task("approve_meta_carts").response_timeout == timedelta(minutes=HOURLY_APPROVAL_MINUTES)
    assert dag.get_task("sync_meta_carts").hourly and dag.get_task("guard_meta_carts").hourly


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_fail_and_skip_sync_right_after_the_gate(policy: str) -> None:
    dag = wired({"on_guard": policy})
    assert sorted(dag.task_ids) == ["build", "gate_carts", "sync_google_carts", "sync_meta_carts"]
    sync = dag.get_task("sync_meta_carts")
    assert sync.on_guard == policy and sync.upstream_task_ids == {"gate_carts"}
    assert sync.trigger_rule == "all_success"
