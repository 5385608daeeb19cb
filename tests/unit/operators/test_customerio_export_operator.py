"""The deferrable Customer.io export operator: it starts the exports, pushes their ids before it defers, and hands
the trigger only JSON-able kwargs (against the Customer.io emulator)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cio_emulator_support import END, START, conn_env, fresh_api_key, running_emulator, small_workspace

from cio_devkit.emulators.customerio import CustomerIoEmulator


@pytest.fixture
def api_key() -> str:
    return fresh_api_key()


@pytest.fixture
def emulator(api_key: str) -> Iterator[CustomerIoEmulator]:
    """The Customer.io emulator (tests/unit/conftest.py serves the Meta one under this name)."""
    yield from running_emulator(small_workspace(), api_key)


class _TI:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def test_deferrable_operator_pushes_export_ids_early_and_defers(
    monkeypatch: pytest.MonkeyPatch, emulator: CustomerIoEmulator, api_key: str
) -> None:
    from airflow.sdk.exceptions import TaskDeferred

    from airflow_provider_cio.operators.customerio_export import CustomerIoExportOperator
    from airflow_provider_cio.triggers.customerio_export import CustomerIoExportTrigger

    conn_env(monkeypatch, emulator, api_key)
    operator = CustomerIoExportOperator(
        task_id="land", dataset="deliveries", workspace="ws", customerio_conn_id="cio_test", deferrable=True
    )
    ti = _TI()
    context = {"data_interval_start": START, "data_interval_end": END, "logical_date": START, "ti": ti}
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, CustomerIoExportTrigger)
    assert ti.pushed["export_ids"] == trigger.export_ids and trigger.export_ids
    classpath, kwargs = trigger.serialize()
    assert classpath.endswith("CustomerIoExportTrigger") and json.dumps(kwargs)
