"""The trigger forms of the syncing DAGs offer every documented override, typed, and each reaches the sync tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
SYNCING = ("cio_audiences", "cio_cart_recovery")
OVERRIDES: dict[str, object] = {
    "dry_run": "boolean",
    "allow_shrink": "boolean",
    "allow_older": "boolean",
    # the UI's multi-select (array + examples) sends null once every choice is cleared
    "audiences": ["array", "null"],
}


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CIO_DAG_CONFIG", str(DAGS_FOLDER / "config" / "cio.yaml"))
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    return bag


def _syncs(dag):  # type: ignore[no-untyped-def]
    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator

    return [t for t in dag.tasks if isinstance(t, CioAudienceSyncOperator)]


@pytest.mark.parametrize("dag_id", SYNCING)
def test_every_override_is_a_typed_described_param(dagbag, dag_id: str) -> None:  # type: ignore[no-untyped-def]
    params = dagbag.dags[dag_id].params
    for name, kind in OVERRIDES.items():
        param = params.get_param(name)
        assert param.schema["type"] == kind, name
        assert len(param.description or "") > 20, f"{dag_id}.{name} has no description"
        assert not param.value, f"{dag_id}.{name} must default to off"


@pytest.mark.parametrize("dag_id", SYNCING)
def test_the_audience_subset_offers_exactly_the_dags_audiences(dagbag, dag_id: str) -> None:  # type: ignore[no-untyped-def]
    import copy

    from airflow.sdk.exceptions import ParamValidationError

    dag = dagbag.dags[dag_id]
    synced = sorted({t.audience for t in _syncs(dag)})
    schema = dag.params.get_param("audiences").schema
    assert schema["items"]["enum"] == synced
    params = copy.deepcopy(dag.params)
    params["audiences"] = synced[:1]  # validated on assignment
    params["audiences"] = None  # a cleared multi-select: every audience
    assert params.get_param("audiences").schema["examples"] == synced  # the UI's pick list
    with pytest.raises(ParamValidationError):
        params["audiences"] = ["no_such_audience"]
    with pytest.raises(ParamValidationError):
        params["audiences"] = "high_value"  # a string is not a subset


@pytest.mark.parametrize("dag_id", SYNCING)
def test_each_sync_task_renders_the_triggered_overrides(dagbag, dag_id: str) -> None:  # type: ignore[no-untyped-def]
    from airflow_provider_cio.operators._run_overrides import flag, subset

    dag = dagbag.dags[dag_id]
    env = dag.get_template_env()
    tasks = _syncs(dag)
    assert tasks
    chosen = sorted({t.audience for t in tasks})[:1]
    triggered = {"dry_run": False, "allow_shrink": True, "allow_older": False, "audiences": chosen}
    for task in tasks:
        rendered = {
            field: env.from_string(getattr(task, field)).render(params=triggered)
            for field in ("plan_only", "allow_shrink", "allow_older", "only_audiences")
        }
        assert flag(rendered["allow_shrink"]) is True
        assert flag(rendered["plan_only"]) is False and flag(rendered["allow_older"]) is False
        assert subset(rendered["only_audiences"]) == frozenset(chosen)
        default = env.from_string(task.only_audiences).render(params={"audiences": None})
        assert subset(default) == frozenset()
