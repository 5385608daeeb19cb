"""``CioWebhookBatchSensor``: each run defers to the trigger with the cursor its previous run handed over in XCom, so
a batch wakes exactly one run; a run that sees nothing new within its timeout is skipped, not failed.

Driven as the scheduler drives it: ``execute`` raises ``TaskDeferred``, the trigger runs (over an in-memory landing
store holding batches committed as the receiver commits them), ``execute_complete`` gets its event.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowSkipException, TaskDeferred
from webhook_batch_support import ENV, ROOT, WS, land_batch, webhook_row

from airflow_provider_cio.sensors.webhook_batches import CioWebhookBatchSensor
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.triggers.webhook_batches import WebhookBatchTrigger


class _TaskInstance:
    """The sensor's own XCom across runs (``include_prior_dates``): what its last completed run returned."""

    def __init__(self) -> None:
        self.last: Any = None

    def xcom_pull(self, *, task_ids: str, include_prior_dates: bool = False) -> Any:
        assert task_ids == "wait_for_batch" and include_prior_dates
        return self.last


def _run(sensor: CioWebhookBatchSensor, ti: _TaskInstance) -> dict[str, Any]:
    """One task run: defer, let the trigger fire, resume; what the run returns becomes its XCom."""
    context: Any = {"ti": ti}
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, WebhookBatchTrigger) and trigger.once
    assert deferred.value.method_name == "execute_complete"

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    event = asyncio.run(first_event())
    result = sensor.execute_complete(context, event)  # raises AirflowSkipException on a timeout event
    ti.last = result
    return result


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> MemoryObjectStore:
    landing = MemoryObjectStore()

    async def memory_store(self: Any) -> MemoryObjectStore:
        return landing

    monkeypatch.setattr(WebhookBatchTrigger, "_store", memory_store)
    return landing


def test_each_batch_wakes_one_run_and_a_quiet_run_is_skipped(store: MemoryObjectStore) -> None:
    sensor = CioWebhookBatchSensor(
        task_id="wait_for_batch", workspace=WS, env=ENV, root=ROOT, poll_interval=0.01, timeout=1
    )
    ti = _TaskInstance()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    now = datetime.now(UTC)
    sent = [webhook_row(f"a{i}", now, object_type="email", metric="sent") for i in range(3)]
    land_batch(store, hour, sent)

    first = _run(sensor, ti)
    assert first["status"] == "batch" and first["rows"] == 3 and first["seen"]

    with pytest.raises(AirflowSkipException, match="no new webhook micro-batch within 1 s"):
        _run(sensor, ti)  # the same batch again: the cursor from the first run's XCom says it was handled
    ti.last = first  # a skipped run returns nothing: the next run still reads the first run's cursor

    # the flusher's next generation of the hour holds the hour's rows so far
    land_batch(store, hour, [*sent, webhook_row("b1", now, object_type="email", metric="opened")])
    second = _run(sensor, ti)
    assert second["status"] == "batch" and second["rows"] == 4 and second["seen"] != first["seen"]


def test_a_sensor_without_a_timeout_gets_an_hour() -> None:
    assert CioWebhookBatchSensor(task_id="wait_for_batch", workspace=WS).timeout == 3600
