"""``CioDataOutSensor``: true once enough data-out files wait that the ingest has not processed, false after it has.

The files are written by the Customer.io emulator's data-out writer (its own reading of Customer.io's file names), the
watermark by the real ingest, over in-memory stores standing in for the two containers.
"""

from __future__ import annotations

from datetime import date

import pytest

from airflow_provider_cio.landing.dataout import ingest_dataout
from airflow_provider_cio.landing.dataout_settings import DataOutSettings
from airflow_provider_cio.sensors.dataout import CioDataOutSensor
from airflow_provider_cio.storage import MemoryObjectStore
from cio_devkit.emulators.synthetic import generate_workspace, write_dataout_files

SOURCE, LANDING = "customerio-dataout", "customerio"


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> dict[str, MemoryObjectStore]:
    import airflow_provider_cio.hooks.blob as blob

    by_container = {SOURCE: MemoryObjectStore(SOURCE), LANDING: MemoryObjectStore(LANDING)}
    monkeypatch.setattr(blob, "object_store", lambda conn_id, container: by_container[container])
    return by_container


LANDED = (
    "people_",
    "deliveries_",
    "metrics_",
)  # the Journeys datasets landed; subjects and attributes are not


def _sensor(workspace: str = "acme", min_files: int = 1) -> CioDataOutSensor:
    return CioDataOutSensor(
        task_id="wait_for_dataout", workspace=workspace, env="dev", source_prefix="src", min_files=min_files
    )


def _landed(files: list[str]) -> int:
    return sum(1 for name in files if name.rsplit("/", 1)[-1].startswith(LANDED))


def test_the_sensor_counts_unprocessed_dataout_files_only(stores: dict[str, MemoryObjectStore]) -> None:
    assert _sensor().poke({}) is False  # an empty source container
    ws = generate_workspace(people=40, seed=11, start=date(2026, 11, 1), days=2)
    files = write_dataout_files(ws, stores[SOURCE], "src")
    stores[SOURCE].write_bytes("src/README.txt", b"not a data-out file")
    waiting = _landed(files)
    assert 0 < waiting < len(files)
    assert _sensor(min_files=waiting).poke({}) is True
    # neither the README nor the datasets the ingest does not land (it would never process them: no wake-up)
    assert _sensor(min_files=waiting + 1).poke({}) is False

    ingest_dataout(
        stores[SOURCE],
        "src",
        stores[LANDING],
        root="landing",
        env="dev",
        workspace="acme",
        settings=DataOutSettings(),
    )
    assert _sensor().poke({}) is False  # processed: the watermark has them
    assert _sensor(workspace="other").poke({}) is True  # another workspace's watermark does not

    later = generate_workspace(people=40, seed=12, start=date(2026, 11, 3), days=1)
    more = _landed(
        write_dataout_files(later, stores[SOURCE], "src", sequence_base=10**15, files_per_dataset=1)
    )
    assert _sensor(min_files=more).poke({}) is True  # what Customer.io writes next wakes it again
    assert _sensor(min_files=more + 1).poke({}) is False


def test_the_sensor_reschedules_by_default_so_a_long_wait_holds_no_worker_slot() -> None:
    assert _sensor().mode == "reschedule"
    assert CioDataOutSensor(task_id="poke", workspace="acme", mode="poke").mode == "poke"
