"""Fixtures for the unit tests (tests/unit/destinations/meta, tests/unit/sync, ...): a Meta Graph emulator on a
free loopback port and the real SDK-based destination pointed at it. Directories (or modules) with another
``emulator`` or ``sleeps`` define their own, which take precedence over these."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from meta_sync_support import ACCOUNT, SECRET, TOKEN

from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
from airflow_provider_cio.storage import MemoryObjectStore
from cio_devkit.emulators.meta import MetaGraphEmulator


@pytest.fixture
def emulator() -> Iterator[MetaGraphEmulator]:
    emu = MetaGraphEmulator(access_token=TOKEN, app_secret=SECRET, ad_account_id=ACCOUNT).start()
    yield emu
    emu.stop()


@pytest.fixture
def make_destination(emulator: MetaGraphEmulator) -> Callable[..., MetaCustomAudienceDestination]:
    def build(token: str = TOKEN, batch: int = 100) -> MetaCustomAudienceDestination:
        return MetaCustomAudienceDestination(
            ACCOUNT, token, SECRET, graph_url=emulator.url, max_batch_size=batch
        )

    return build


@pytest.fixture
def destination(
    make_destination: Callable[..., MetaCustomAudienceDestination],
) -> MetaCustomAudienceDestination:
    return make_destination()


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


class Sleeps(list[float]):
    """An injectable ``sleep`` that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
