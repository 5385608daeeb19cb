"""Fixtures: a small synthetic workspace, the Customer.io emulator on loopback, clients that never really sleep."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from airflow_provider_cio.customerio.client import CustomerIoClient
from airflow_provider_cio.customerio.retry import RetryPolicy
from cio_devkit.emulators.customerio import CustomerIoEmulator
from cio_devkit.emulators.synthetic import SyntheticWorkspace, generate_workspace


@pytest.fixture(scope="session")
def cio_workspace() -> SyntheticWorkspace:
    return generate_workspace(people=400, seed=11, start=date(2024, 3, 1), days=14)


@pytest.fixture
def api_key() -> str:
    """A fresh key per test, so the process-wide limiter registry never couples two tests."""
    return f"sk-test-{uuid.uuid4().hex}"


@pytest.fixture
def emulator(cio_workspace: SyntheticWorkspace, api_key: str) -> Iterator[CustomerIoEmulator]:
    emu = CustomerIoEmulator(cio_workspace, api_key, rate_limit=None).start()
    try:
        yield emu
    finally:
        emu.stop()


class RecordingSleep:
    """Stands in for ``time.sleep``: remembers each requested wait instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_client(
    emulator: CustomerIoEmulator, api_key: str, sleeps: RecordingSleep
) -> Iterator[Callable[..., CustomerIoClient]]:
    clients: list[CustomerIoClient] = []

    def build(**overrides: Any) -> CustomerIoClient:
        options: dict[str, Any] = {
            "base_url": emulator.url,
            "rate_limit": 1000.0,
            "timeout": 5.0,
            "retry": RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0, max_total_wait=60.0),
            "sleep": sleeps,
        }
        options.update(overrides)
        client = CustomerIoClient(options.pop("api_key", api_key), **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
