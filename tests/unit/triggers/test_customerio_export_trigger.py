"""The Customer.io export trigger: exactly one final event, ``done`` with the export ids or ``failed`` (against the
Customer.io emulator)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from cio_emulator_support import (
    END,
    START,
    conn_env,
    fast_client,
    fresh_api_key,
    running_emulator,
    small_workspace,
)

from airflow_provider_cio.landing.app_api import create_exports
from cio_devkit.emulators.customerio import CustomerIoEmulator


@pytest.fixture
def api_key() -> str:
    return fresh_api_key()


@pytest.fixture
def emulator(api_key: str) -> Iterator[CustomerIoEmulator]:
    """The Customer.io emulator (tests/unit/conftest.py serves the Meta one under this name)."""
    yield from running_emulator(small_workspace(), api_key)


@pytest.fixture
def make_client(emulator: CustomerIoEmulator, api_key: str) -> Iterator[Any]:
    clients: list[Any] = []

    def build() -> Any:
        clients.append(fast_client(emulator, api_key))
        return clients[-1]

    yield build
    for client in clients:
        client.close()


def test_trigger_yields_exactly_one_done_event(
    monkeypatch: pytest.MonkeyPatch, make_client: Any, emulator: CustomerIoEmulator, api_key: str
) -> None:
    from airflow_provider_cio.triggers.customerio_export import CustomerIoExportTrigger

    conn_env(monkeypatch, emulator, api_key)
    ids = create_exports(make_client(), "deliveries", START, END)
    trigger = CustomerIoExportTrigger(
        customerio_conn_id="cio_test", export_ids=ids, poll_interval=0.05, timeout=30
    )

    async def collect() -> list[Any]:
        return [event async for event in trigger.run()]

    events = asyncio.run(collect())
    assert len(events) == 1
    assert events[0].payload == {"status": "done", "export_ids": ids}


def test_trigger_reports_a_failed_export(
    monkeypatch: pytest.MonkeyPatch, make_client: Any, emulator: CustomerIoEmulator, api_key: str
) -> None:
    from airflow_provider_cio.triggers.customerio_export import CustomerIoExportTrigger

    conn_env(monkeypatch, emulator, api_key)
    emulator.faults.fail_exports(1)
    ids = create_exports(make_client(), "people", START, END)
    trigger = CustomerIoExportTrigger(
        customerio_conn_id="cio_test", export_ids=ids, poll_interval=0.05, timeout=30
    )

    async def collect() -> list[Any]:
        return [event async for event in trigger.run()]

    events = asyncio.run(collect())
    assert [e.payload["status"] for e in events] == ["failed"]
