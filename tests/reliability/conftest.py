"""Chaos fixtures: the fast form runs in ``make test``; ``CIO_CHAOS=full`` (``make chaos``) uses more data and
more fault rounds. Faults are injected into real processes (Azurite, the emulators, a sync worker subprocess)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_support import FULL, META_ACCOUNT, META_SECRET, META_TOKEN, azurite_store

from cio_devkit.devstack import Devstack
from cio_devkit.emulators.meta import MetaGraphEmulator


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).resolve().parent:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def full() -> bool:
    """True under ``CIO_CHAOS=full``: bigger data, more rounds."""
    return FULL


@pytest.fixture
def container_store(devstack: Devstack):  # type: ignore[no-untyped-def]
    """A fresh Azurite container reached through the stack's current port (changes when Azurite restarts)."""
    return azurite_store(devstack, f"chaos{uuid.uuid4().hex[:12]}")


@pytest.fixture
def meta() -> Iterator[MetaGraphEmulator]:
    emu = MetaGraphEmulator(
        access_token=META_TOKEN, app_secret=META_SECRET, ad_account_id=META_ACCOUNT
    ).start()
    yield emu
    emu.stop()
