"""Concurrent landings of one partition on the devstack's Azurite (issue 16, defects 2 and 8).

Several writers land the same multi-part partition at once (a retry beside a backfill beside a manual clear), each
through its own SDK client, while readers read it; repeated for rounds (20 under ``CIO_CHAOS=full``). Every read
must see one whole generation, every writer's commit must succeed, and after each round the committed generation and
the one it keeps as previous must be whole on Azurite. Each writer lands rows of its own (``r<round>w<i>-<n>``), so
a read tells which generation it saw and whether it was complete. Also on Azurite: the conditional writes the
protocol rests on, and an empty rerun that must not replace the partition.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from chaos_support import azurite_store

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.manifest import Manifest
from airflow_provider_cio.landing.reader import read_manifest, read_table
from airflow_provider_cio.landing.shrink import PartitionShrink, ShrinkPolicy
from airflow_provider_cio.landing.writer import write_table
from airflow_provider_cio.storage.base import PreconditionFailed

REF = PartitionRef("landing", "dev", "chaos", "events", date(2026, 11, 1))
PART_ROWS = 250


def rows(tag: str, n: int) -> pa.Table:
    ts = datetime(2026, 11, 1, 12, tzinfo=UTC)
    return pa.table(
        {
            "event_id": [f"{tag}-{i}" for i in range(n)],
            "customer_id": [f"c{i % 97}" for i in range(n)],
            "name": ["viewed_product"] * n,
            "product_id": ["p1"] * n,
            "cart_id": [None] * n,
            "value": [1.5] * n,
            "timestamp": [ts] * n,
        },
        schema=arrow_schema("events"),
    )


def whole_generation(table: pa.Table, expected: dict[str, int]) -> str:
    tags = {event_id.rsplit("-", 1)[0] for event_id in table.column("event_id").to_pylist()}
    assert len(tags) == 1, f"a read mixed generations: {sorted(tags)}"
    tag = tags.pop()
    assert table.num_rows == expected[tag], f"a read of {tag} saw {table.num_rows} of {expected[tag]} rows"
    return tag


def test_concurrent_landings_of_one_partition_while_readers_read(devstack, full) -> None:  # type: ignore[no-untyped-def]
    container = f"conc{uuid.uuid4().hex[:12]}"
    rounds, writers, readers = (20, 4, 2) if full else (3, 3, 2)
    write_table(azurite_store(devstack, container), REF, rows("r0w0", 10 * PART_ROWS), part_rows=PART_ROWS)
    expected = {"r0w0": 10 * PART_ROWS}  # 10 parts, as in the report
    reads = 0
    for round_no in range(1, rounds + 1):
        # 9 or 10 parts each: within the 10% rerun allowance of one another, so any commit may replace any other
        # (a loser re-checks the guard against the winner's manifest)
        sizes = {f"r{round_no}w{i}": (10 - i % 2) * PART_ROWS for i in range(writers)}
        expected |= sizes
        reads += land_and_read_at_once(devstack, container, sizes, expected, readers, f"round {round_no}")
    assert reads >= rounds * readers


def land_and_read_at_once(  # type: ignore[no-untyped-def]
    devstack, container: str, sizes: dict[str, int], expected: dict[str, int], readers: int, what: str
) -> int:
    """One landing per ``sizes`` entry at once, each through its own SDK client, while ``readers`` read; returns
    the number of reads (each checked whole)."""
    committed: dict[str, Manifest] = {}
    errors: list[BaseException] = []
    done = threading.Event()
    start = threading.Barrier(len(sizes) + readers)
    seen: list[str] = []

    def land(tag: str, n: int) -> None:
        try:
            store = azurite_store(devstack, container)
            start.wait()
            committed[tag] = write_table(store, REF, rows(tag, n), part_rows=PART_ROWS)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def read() -> None:
        try:
            store = azurite_store(devstack, container)
            start.wait()
            while True:
                finished = done.is_set()
                seen.append(whole_generation(read_table(store, REF), expected))
                if finished:
                    return
        except BaseException as exc:
            errors.append(exc)

    landers = [threading.Thread(target=land, args=item) for item in sizes.items()]
    reading = [threading.Thread(target=read) for _ in range(readers)]
    for thread in landers + reading:
        thread.start()
    for thread in landers:
        thread.join()
    done.set()
    for thread in reading:
        thread.join()
    assert not errors, f"{what}: {errors!r}"
    assert sorted(committed) == sorted(sizes), f"{what}: not every landing committed"
    store = azurite_store(devstack, container)
    final = read_manifest(store, REF)
    assert final.generation in {m.generation for m in committed.values()}
    assert whole_generation(read_table(store, REF), expected) in sizes
    names = set(store.list(REF.prefix + "/"))
    previous = final.previous_manifest()
    for kept in [final] + ([previous] if previous else []):
        missing = [p.path for p in kept.parts if p.path not in names]
        assert not missing, f"{what}: generation {kept.generation} lost {len(missing)} parts"
    return len(seen)


def test_an_empty_rerun_does_not_replace_a_landed_partition_on_azurite(devstack) -> None:  # type: ignore[no-untyped-def]
    store = azurite_store(devstack, f"shr{uuid.uuid4().hex[:12]}")
    good = write_table(store, REF, rows("good", 300), part_rows=100)
    with pytest.raises(PartitionShrink, match="found 0 rows"):
        write_table(store, REF, rows("none", 0))
    assert read_manifest(store, REF).generation == good.generation
    assert read_table(store, REF).num_rows == 300
    replaced = write_table(store, REF, rows("none", 0), shrink=ShrinkPolicy(allow_shrink=True))
    assert read_manifest(store, REF).generation == replaced.generation
    assert replaced.previous is not None and all(store.exists(p.path) for p in good.parts)


def test_azurite_enforces_the_conditional_writes_the_commit_relies_on(devstack) -> None:  # type: ignore[no-untyped-def]
    store = azurite_store(devstack, f"etag{uuid.uuid4().hex[:12]}")
    path = "probe/_manifest.json"
    with pytest.raises(PreconditionFailed):  # If-Match on a blob that does not exist
        store.write_bytes(path, b"0", if_match='"0x8DEADBEEF"')
    store.write_bytes(path, b"1", overwrite=False)  # If-None-Match: * creates it
    with pytest.raises(PreconditionFailed):
        store.write_bytes(path, b"2", overwrite=False)
    first = store.read_versioned(path)
    store.write_bytes(path, b"3", if_match=first.etag)
    second = store.read_versioned(path)
    assert second.data == b"3" and second.etag != first.etag
    with pytest.raises(PreconditionFailed):  # a stale ETag: someone wrote since
        store.write_bytes(path, b"4", if_match=first.etag)
    assert store.read_bytes(path) == b"3"
