"""The Customer.io emulator for the adapter's tests (the export operator's and trigger's): the same small synthetic
workspace and emulator as tests/unit/customerio's conftest, as plain functions a fixture wraps, and the connection
the hook reads from ``AIRFLOW_CONN_CIO_TEST``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import pytest

from airflow_provider_cio.customerio.client import CustomerIoClient
from airflow_provider_cio.customerio.retry import RetryPolicy
from cio_devkit.emulators.customerio import CustomerIoEmulator
from cio_devkit.emulators.synthetic import SyntheticWorkspace, generate_workspace

START = datetime(2024, 3, 5, tzinfo=UTC)
END = datetime(2024, 3, 6, tzinfo=UTC)


@cache
def small_workspace() -> SyntheticWorkspace:
    return generate_workspace(people=400, seed=11, start=date(2024, 3, 1), days=14)


def fresh_api_key() -> str:
    """A fresh key per test, so the process-wide limiter registry never couples two tests."""
    return f"sk-test-{uuid.uuid4().hex}"


def running_emulator(workspace: SyntheticWorkspace, api_key: str) -> Iterator[CustomerIoEmulator]:
    emu = CustomerIoEmulator(workspace, api_key, rate_limit=None).start()
    try:
        yield emu
    finally:
        emu.stop()


def fast_client(emulator: CustomerIoEmulator, api_key: str, **overrides: Any) -> CustomerIoClient:
    """A client of the emulator that never really sleeps (close it after use)."""
    options: dict[str, Any] = {
        "base_url": emulator.url,
        "rate_limit": 1000.0,
        "timeout": 5.0,
        "retry": RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0, max_total_wait=60.0),
        "sleep": lambda _seconds: None,
    }
    options.update(overrides)
    return CustomerIoClient(api_key, **options)


def conn_env(monkeypatch: pytest.MonkeyPatch, emulator: CustomerIoEmulator, api_key: str) -> None:
    """The ``cio_test`` connection, pointed at the emulator."""
    conn = {"conn_type": "customerio", "host": emulator.url, "password": api_key, "extra": {"region": "us"}}
    monkeypatch.setenv("AIRFLOW_CONN_CIO_TEST", json.dumps(conn))
