"""Structural rules every reference DAG keeps, checked on the parsed DAGs."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:  # the shipped config, and no leak into later tests
        patch.setenv("CIO_DAG_CONFIG", str(DAGS_FOLDER / "config" / "cio.yaml"))
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    return bag


def test_every_sync_task_has_its_audience_gate_upstream(dagbag) -> None:  # type: ignore[no-untyped-def]
    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator
    from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator

    syncs = 0
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            if not isinstance(task, CioAudienceSyncOperator):
                continue
            syncs += 1
            upstream = [dag.get_task(t) for t in task.get_flat_relative_ids(upstream=True)]
            gates = [t for t in upstream if isinstance(t, CioQualityGateOperator)]
            assert any(g.dataset == task.audience and g.root == "audiences" for g in gates), (
                f"{dag.dag_id}.{task.task_id} has no gate on audience {task.audience} upstream"
            )
            landing_gates = [g for g in gates if g.root == "landing"]
            if dag.dag_id != "cio_audiences":  # cio_audiences runs only on gated (Asset) landing partitions
                assert landing_gates, f"{dag.dag_id}.{task.task_id} has no landing gate upstream"
    assert syncs > 0


def test_every_sync_task_writes_its_deployments_own_platform_audience(dagbag) -> None:  # type: ignore[no-untyped-def]
    """Two envs or workspaces on one ad account must never share an audience: the name carries both."""
    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator

    syncs = [t for dag in dagbag.dags.values() for t in dag.tasks if isinstance(t, CioAudienceSyncOperator)]
    assert syncs
    for task in syncs:
        assert task.platform_audience_name == f"cio/{task.env}/{task.workspace}/{task.audience}", task.task_id


def test_audiences_run_only_on_gated_landing_assets(dagbag) -> None:  # type: ignore[no-untyped-def]
    from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator

    export = dagbag.dags["cio_export"]
    emitted = {a.uri for t in export.tasks if isinstance(t, CioQualityGateOperator) for a in t.outlets}
    condition = dagbag.dags["cio_audiences"].timetable.asset_condition
    consumed = {a.uri for a in condition.objects}
    assert consumed and consumed <= emitted
    for task in export.tasks:
        if task.outlets:
            assert isinstance(task, CioQualityGateOperator), f"{task.task_id} emits an Asset without gating"


def test_every_dag_is_documented_owned_tagged_and_bounded(dagbag) -> None:  # type: ignore[no-untyped-def]
    from airflow_provider_cio.notifications.notifier import CioFailureNotifier

    for dag in dagbag.dags.values():
        assert dag.doc_md and len(dag.doc_md) > 100, dag.dag_id
        assert dag.tags, dag.dag_id
        assert dag.max_active_runs and dag.max_active_runs <= 3, dag.dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag.dag_id}.{task.task_id}"
            if dag.dag_id != "cio_smoke":
                callbacks = (
                    task.on_failure_callback
                    if isinstance(task.on_failure_callback, list)
                    else [task.on_failure_callback]
                )
                assert any(isinstance(c, CioFailureNotifier) for c in callbacks), (
                    f"{dag.dag_id}.{task.task_id}"
                )


@pytest.mark.parametrize("dag_id", ["cio_export", "cio_cart_recovery"])
def test_every_customerio_api_task_shares_the_configured_pool(dagbag, dag_id: str) -> None:  # type: ignore[no-untyped-def]
    """Two land tasks in parallel starve each other's requests of the workspace's 10 req/s (a download answered 429
    ten times in a row failed a cart hour in CI): every App API task, in every DAG, queues on the one pool."""
    from airflow_provider_cio.dag_config import read_dag_config
    from airflow_provider_cio.operators.customerio_export import CustomerIoExportOperator

    pool = read_dag_config(DAGS_FOLDER / "config" / "cio.yaml").customerio_pool
    assert pool
    lands = [t for t in dagbag.dags[dag_id].tasks if isinstance(t, CustomerIoExportOperator)]
    assert len(lands) >= 2, dag_id
    assert {t.task_id: t.pool for t in lands} == {t.task_id: pool for t in lands}


def test_a_cart_hour_goes_first_in_the_shared_pool(dagbag) -> None:  # type: ignore[no-untyped-def]
    """Queued together in the one-slot pool, the hourly cart lands run before the daily export's waiting ones: their
    absolute weight is above what any cio_export task can reach (its own weight plus all its downstream's)."""
    from airflow_provider_cio.operators.customerio_export import CustomerIoExportOperator

    export = dagbag.dags["cio_export"].tasks
    export_ceiling = sum(t.priority_weight for t in export)
    carts = [t for t in dagbag.dags["cio_cart_recovery"].tasks if isinstance(t, CustomerIoExportOperator)]
    assert carts
    for task in carts:
        assert str(task.weight_rule) == "absolute" and task.priority_weight > export_ceiling, task.task_id
