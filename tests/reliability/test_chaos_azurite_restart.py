"""Azurite dies in the middle of a landing and comes back (on a new port): the committed partition is untouched
and readable through the refreshed connection, the retried landing commits exactly its rows once, and the dead
attempt's orphan parts are kept through the sweep's grace period (they could be a live writer's) and swept by
the first commit after it."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from chaos_support import azurite_port, azurite_store, wait_for

from airflow_provider_cio.landing.generations import DEFAULT_GRACE
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_manifest, read_table
from airflow_provider_cio.landing.writer import PartitionWriter, write_table
from cio_devkit.devstack import processes
from cio_devkit.devstack.seed import CONTAINER, ORDERS_PATH


def _table(first: int, rows: int) -> pa.Table:
    ids = list(range(first, first + rows))
    return pa.table({"event_id": [f"ev-{i:08d}" for i in ids], "value": [i * 7 % 1000 for i in ids]})


def _uploaded(store, ref: PartitionRef, generation: str) -> int:  # type: ignore[no-untyped-def]
    return sum(generation in name for name in store.list(ref.prefix + "/"))


def _restart_azurite(devstack) -> None:  # type: ignore[no-untyped-def]
    devstack.up()  # restarts what is not running, reuses the rest
    os.environ.update(devstack.environment())  # the rest of the session reaches Azurite on its new port
    assert devstack.status()["azurite"]["running"]


def test_azurite_stopped_mid_landing_then_restarted_keeps_data_and_the_retry_lands_exactly(
    devstack, full
) -> None:
    from airflow_provider_cio.hooks.blob import object_store

    container = f"restart{uuid.uuid4().hex[:10]}"
    ref = PartitionRef("landing", "dev", "chaos", "events", date(2026, 11, 1))
    rows, part_rows = (400_000, 20_000) if full else (40_000, 4_000)
    committed = _table(0, rows)
    write_table(azurite_store(devstack, container), ref, committed, source="chaos", part_rows=part_rows)

    for round_ in range(3 if full else 1):
        store = azurite_store(devstack, container, retries=0)  # an attempt fails fast once its server is gone
        old_port = azurite_port(devstack)
        retry_rows = _table(1_000_000 * (round_ + 1), rows + 1_000)
        azurite = devstack.read_state()["services"]["azurite"]
        writer = PartitionWriter(store, ref, retry_rows.schema, source="chaos", part_rows=part_rows)
        with pytest.raises(Exception), writer:  # noqa: B017 - whatever the SDK raises for a vanished server
            for n, batch in enumerate(retry_rows.to_batches(max_chunksize=part_rows)):
                if n == 3:  # once two parts of this attempt are in Blob, the server dies
                    wait_for(
                        lambda s=store, w=writer: _uploaded(s, ref, w.generation) >= 2,
                        timeout=60,
                        what="parts",
                    )
                    assert processes.stop(azurite["pid"], devstack.marker, sigterms=2)
                writer.write_batch(batch)
            writer.commit()
        assert not devstack.status()["azurite"]["running"]

        _restart_azurite(devstack)
        # through WasbHook and the refreshed AIRFLOW_CONN_CIO_BLOB
        store = object_store("cio_blob", container)
        assert f":{azurite_port(devstack)}/" in store.url("x") and azurite_port(devstack) != old_port
        assert object_store("cio_blob", CONTAINER).exists(ORDERS_PATH)  # Azurite kept its data folder
        assert read_table(store, ref).equals(committed)  # the committed partition survived the crash
        orphans = set(store.list(ref.prefix + "/")) - {p.path for p in read_manifest(store, ref).parts}
        assert len(orphans) >= 3  # the manifest and the dead attempt's parts: swept by the next commit

        replaced = read_manifest(store, ref)
        manifest = write_table(store, ref, retry_rows, source="chaos", part_rows=part_rows)
        assert read_table(store, ref).sort_by("event_id").equals(retry_rows.sort_by("event_id"))
        assert manifest.rows == retry_rows.num_rows
        # the replaced generation stays until the retry passes its gate; the dead attempt's parts are young
        kept = {p.path for p in manifest.parts + replaced.parts} | {ref.manifest_path}
        dead = set(store.list(ref.prefix + "/")) - kept
        assert len(dead) >= 2 and dead <= {p.path for p in writer._parts}
        later = datetime.now(UTC) + DEFAULT_GRACE + timedelta(minutes=1)
        manifest = write_table(
            store, ref, retry_rows, source="chaos", part_rows=part_rows, clock=lambda at=later: at
        )
        leftover = set(store.list(ref.prefix + "/")) - {ref.manifest_path} - {p.path for p in manifest.parts}
        assert not dead & leftover  # swept after the grace
        committed = retry_rows
