from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.generations import DEFAULT_GRACE
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.manifest import Manifest
from airflow_provider_cio.landing.reader import (
    PartitionCorrupt,
    PartitionNotFound,
    list_partitions,
    read_manifest,
    read_table,
)
from airflow_provider_cio.landing.shrink import ShrinkPolicy
from airflow_provider_cio.landing.writer import PartitionWriter, TooManyRejectedRows, write_table
from airflow_provider_cio.storage import MemoryObjectStore
from cio_devkit.emulators.synthetic import generate_workspace

REF = PartitionRef("landing", "dev", "ws1", "events", date(2026, 11, 1))


def _events(n: int, offset: int = 0) -> pa.Table:
    ts = datetime(2026, 11, 1, 12, tzinfo=UTC)
    return pa.table(
        {
            "event_id": [f"e{i}" for i in range(offset, offset + n)],
            "customer_id": [f"c{i % 7}" for i in range(n)],
            "name": ["viewed_product"] * n,
            "product_id": ["p1"] * n,
            "cart_id": [None] * n,
            "value": [1.5] * n,
            "timestamp": [ts] * n,
        },
        schema=arrow_schema("events"),
    )


def test_layout_prefix_and_parse_round_trip() -> None:
    hourly = PartitionRef("landing", "prod", "ws", "events", date(2026, 1, 2), 7)
    assert hourly.prefix == "landing/prod/ws/events/dt=2026-01-02/hr=07"
    assert PartitionRef.parse(hourly.manifest_path) == hourly
    assert PartitionRef.parse(REF.prefix) == REF
    with pytest.raises(ValueError, match="invalid workspace"):
        PartitionRef("landing", "prod", "bad/ws", "events", date(2026, 1, 2))


def test_write_then_read_gives_the_same_rows_and_a_manifest_written_last() -> None:
    store = MemoryObjectStore()
    manifest = write_table(store, REF, _events(2500), part_rows=1000)
    assert manifest.rows == 2500
    assert len(manifest.parts) == 3
    assert read_manifest(store, REF) == Manifest.from_json(manifest.to_json())
    table = read_table(store, REF)
    assert table.num_rows == 2500
    assert sorted(table.column("event_id").to_pylist()) == sorted(f"e{i}" for i in range(2500))


def test_rewrite_replaces_the_partition_keeps_the_replaced_generation_and_equal_content_gives_equal_checksum() -> (
    None
):
    store = MemoryObjectStore()
    first = write_table(store, REF, _events(1500), part_rows=1000)
    second = write_table(store, REF, _events(1500), part_rows=1000)
    assert first.generation != second.generation
    assert first.content_sha256 == second.content_sha256
    # the replaced generation stays (for a rollback) until the new one passes its gate
    assert second.previous is not None and second.previous["generation"] == first.generation
    names = store.list(REF.prefix + "/")
    assert sorted(names) == sorted([p.path for p in second.parts + first.parts] + [REF.manifest_path])
    third = write_table(store, REF, _events(10, offset=9000), shrink=ShrinkPolicy(allow_shrink=True))
    assert read_table(store, REF).column("event_id").to_pylist()[0] == "e9000"
    assert third.content_sha256 != second.content_sha256
    # the first generation is pushed out of ``previous`` by the third commit: provably dead, swept
    assert sorted(store.list(REF.prefix + "/")) == sorted(
        [p.path for p in third.parts + second.parts] + [REF.manifest_path]
    )


def test_a_crashed_attempt_leaves_the_previous_partition_intact_and_a_commit_after_the_grace_cleans_up() -> (
    None
):
    store = MemoryObjectStore()
    good = write_table(store, REF, _events(100))
    with (
        pytest.raises(RuntimeError, match="killed"),
        PartitionWriter(store, REF, arrow_schema("events"), source="test", part_rows=10) as writer,
    ):
        writer.write_batch(_events(50, offset=500))
        raise RuntimeError("killed mid-write")
    assert read_manifest(store, REF).generation == good.generation
    assert read_table(store, REF).num_rows == 100
    # a hard kill (no abort) leaves orphans: invisible to readers, and kept by commits within the grace period
    # (they could be a writer still uploading), swept by the first commit after it
    orphan = PartitionWriter(store, REF, arrow_schema("events"), source="test", part_rows=10)
    orphan.write_batch(_events(30, offset=700))
    orphan._cut_part()
    orphan._drain()
    orphans = {p.path for p in orphan._parts}
    assert read_table(store, REF).num_rows == 100
    soon = write_table(store, REF, _events(100, offset=800))
    assert orphans <= set(store.list(REF.prefix + "/"))
    later = datetime.now(UTC) + DEFAULT_GRACE + timedelta(minutes=1)
    final = write_table(store, REF, _events(100, offset=900), clock=lambda: later)
    assert sorted(store.list(REF.prefix + "/")) == sorted(
        [p.path for p in final.parts + soon.parts] + [REF.manifest_path]
    )


def test_rejected_rows_are_quarantined_and_counted_and_too_many_fail_without_commit() -> None:
    store = MemoryObjectStore()
    with PartitionWriter(store, REF, arrow_schema("events"), source="test", max_rejected_rate=0.5) as writer:
        writer.write_batch(_events(10))
        writer.reject("bad_timestamp", row={"event_id": "x"}, detail="line 4")
        manifest = writer.commit()
    assert manifest.rejected_rows == 1
    assert manifest.rejected_reasons == {"bad_timestamp": 1}
    assert b"bad_timestamp" in store.read_bytes(manifest.rejected_parts[0])

    with PartitionWriter(store, REF, arrow_schema("events"), source="test", max_rejected_rate=0.01) as writer:
        writer.write_batch(_events(10, offset=50))
        writer.reject("bad_timestamp")
        with pytest.raises(TooManyRejectedRows, match=r"1 of 11 rows rejected"):
            writer.commit()
    assert read_manifest(store, REF).generation == manifest.generation


def test_missing_manifest_and_tampered_part_are_specific_errors() -> None:
    store = MemoryObjectStore()
    with pytest.raises(PartitionNotFound, match="no _manifest.json"):
        read_manifest(store, REF)
    manifest = write_table(store, REF, _events(10))
    store.write_bytes(manifest.parts[0].path, b"not parquet")
    with pytest.raises(PartitionCorrupt, match="does not match its manifest"):
        read_table(store, REF)
    store.delete(manifest.parts[0].path)
    with pytest.raises(PartitionCorrupt, match="is missing"):
        read_table(store, REF)


def test_list_partitions_sees_only_committed_partitions() -> None:
    store = MemoryObjectStore()
    for day in (3, 1, 2):
        write_table(store, PartitionRef("landing", "dev", "ws1", "events", date(2026, 11, day)), _events(5))
    store.write_bytes("landing/dev/ws1/events/dt=2026-11-04/part-x.parquet", b"uncommitted")
    days = [ref.dt.day for ref in list_partitions(store, "landing", "dev", "ws1", "events")]
    assert days == [1, 2, 3]


def test_timestamps_and_integers_without_a_dictionary_land_delta_encoded_and_read_back_exactly(
    tmp_path: Path,
) -> None:
    """Near-unique event times are stored as deltas; repeated values keep their dictionary; pyarrow and DuckDB
    (the gate's engine) read back exactly what was written."""
    import duckdb
    import pyarrow.parquet as pq

    deliveries = generate_workspace(people=400, seed=5, start=date(2026, 11, 1), days=3).deliveries
    ref = PartitionRef("landing", "dev", "ws1", "deliveries", date(2026, 11, 1))
    store = MemoryObjectStore()
    manifest = write_table(store, ref, deliveries)
    part = store.read_bytes(manifest.parts[0].path)
    metadata = pq.ParquetFile(io.BytesIO(part)).metadata.row_group(0)
    encodings = {
        metadata.column(i).path_in_schema: set(metadata.column(i).encodings)
        for i in range(metadata.num_columns)
    }
    assert "DELTA_BINARY_PACKED" in encodings["created_at"] and "DELTA_BINARY_PACKED" in encodings["sent_at"]
    assert "RLE_DICTIONARY" in encodings["delivery_type"] and "RLE_DICTIONARY" in encodings["campaign_id"]
    assert "DELTA_BINARY_PACKED" not in encodings["delivery_id"]  # strings are never delta-packed
    codecs = {
        metadata.column(i).path_in_schema: metadata.column(i).compression for i in range(metadata.num_columns)
    }
    assert (
        codecs["created_at"] == "UNCOMPRESSED" and codecs["delivery_id"] == codecs["delivery_type"] == "ZSTD"
    )

    assert read_table(store, ref).equals(deliveries)
    path = tmp_path / "part.parquet"
    path.write_bytes(part)
    from_duckdb = duckdb.connect().sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table()
    assert from_duckdb.cast(deliveries.schema).equals(deliveries)


def test_parts_carry_min_max_for_times_and_numbers_not_text_and_a_time_filter_still_reads_exactly(
    tmp_path: Path,
) -> None:
    """Statistics are written where readers prune (times, numbers), not for near-unique text; DuckDB's and
    pyarrow's filtered reads of a landed part give exactly the rows a full read would."""
    import duckdb
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    deliveries = generate_workspace(people=200, seed=7, start=date(2026, 11, 1), days=3).deliveries
    ref = PartitionRef("landing", "dev", "ws1", "deliveries", date(2026, 11, 1))
    store = MemoryObjectStore()
    manifest = write_table(store, ref, deliveries)
    path = tmp_path / "part.parquet"
    path.write_bytes(store.read_bytes(manifest.parts[0].path))
    group = pq.ParquetFile(path).metadata.row_group(0)
    stats = {group.column(i).path_in_schema: group.column(i).statistics for i in range(group.num_columns)}
    assert stats["created_at"] is not None and stats["created_at"].has_min_max
    assert stats["campaign_id"] is not None and stats["campaign_id"].has_min_max
    assert stats["delivery_id"] is None or not stats["delivery_id"].has_min_max
    assert stats["customer_id"] is None or not stats["customer_id"].has_min_max

    cut = datetime(2026, 11, 2, tzinfo=UTC)
    expected = deliveries.filter(
        pc.greater_equal(deliveries["created_at"], pa.scalar(cut, deliveries["created_at"].type))
    )
    assert 0 < expected.num_rows < deliveries.num_rows
    by_pyarrow = pq.read_table(path, filters=[("created_at", ">=", cut)])
    assert by_pyarrow.sort_by("delivery_id").equals(expected.sort_by("delivery_id"))
    count = (
        duckdb.connect()
        .execute(
            f"SELECT count(*), count(DISTINCT delivery_id) FROM read_parquet('{path}') WHERE created_at >= ?",
            [cut],
        )
        .fetchone()
    )
    assert count == (expected.num_rows, expected.num_rows)
