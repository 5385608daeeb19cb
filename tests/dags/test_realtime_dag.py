"""cio_realtime: scheduled on the webhook-batch Asset (watched by an event trigger, or announced by the sensor DAG),
rebuilds exactly the cart and suppression audiences, and every sync sits behind its gate and the webhook gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "cio_realtime.py"


def _bag(mode: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CIO_DAG_CONFIG", str(DAG_FILE.parent / "config" / "cio.yaml"))
        patch.setenv("CIO_REALTIME_TRIGGER", mode)
        bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag


@pytest.fixture(scope="module")
def watcher_bag() -> Any:
    return _bag("watcher")


def test_the_dag_runs_on_new_batches_watched_by_an_event_trigger(watcher_bag: Any) -> None:
    from airflow.triggers.base import BaseEventTrigger

    dag = watcher_bag.dags["cio_realtime"]
    assets = list(dag.timetable.asset_condition.objects)
    assert [a.name for a in assets] == ["cio.dev.demo.webhook_events.batches"]
    (watcher,) = assets[0].watchers
    assert isinstance(watcher.trigger, BaseEventTrigger)  # only event triggers may be watched
    assert "cio_realtime_watch" not in watcher_bag.dags
    assert dag.max_active_runs == 1


def test_it_rebuilds_the_cart_and_suppression_audiences_only(watcher_bag: Any) -> None:
    from airflow_provider_cio.operators.realtime_audiences import CioRealtimeAudienceBuildOperator

    dag = watcher_bag.dags["cio_realtime"]
    (build,) = [t for t in dag.tasks if isinstance(t, CioRealtimeAudienceBuildOperator)]
    assert sorted(build.audiences) == ["high_intent_unresponsive_carts", "suppress_recent_purchasers"]
    assert build.hourly
    assert "gate_webhook_events" in build.upstream_task_ids


def test_every_sync_is_behind_its_audience_gate_and_the_webhook_gate(watcher_bag: Any) -> None:
    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator

    dag = watcher_bag.dags["cio_realtime"]
    syncs = [t for t in dag.tasks if isinstance(t, CioAudienceSyncOperator)]
    assert {(t.platform, t.audience) for t in syncs} == {
        ("meta", "high_intent_unresponsive_carts"),
        ("google", "high_intent_unresponsive_carts"),
        ("meta", "suppress_recent_purchasers"),
        ("google", "suppress_recent_purchasers"),
    }
    for sync in syncs:
        upstream = sync.get_flat_relative_ids(upstream=True)
        assert f"gate_{sync.audience}" in upstream and "gate_webhook_events" in upstream


def test_sensor_mode_adds_the_watch_dag_that_announces_the_same_asset() -> None:
    from airflow_provider_cio.sensors.webhook_batches import CioWebhookBatchSensor

    bag = _bag("sensor")
    realtime, watch = bag.dags["cio_realtime"], bag.dags["cio_realtime_watch"]
    (asset,) = realtime.timetable.asset_condition.objects
    assert list(asset.watchers) == []
    sensors = [t for t in watch.tasks if isinstance(t, CioWebhookBatchSensor)]
    assert len(sensors) == 1 and sensors[0].soft_fail
    emitted = {a.uri for t in watch.tasks for a in t.outlets}
    assert emitted == {asset.uri}
