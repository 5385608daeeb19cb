from __future__ import annotations

import io
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_cio.landing.dataout import ingest_dataout, load_watermark
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_manifest, read_table
from airflow_provider_cio.storage import MemoryObjectStore

SRC = "cio-dataout"
NOV1 = datetime(2026, 11, 1, 9, tzinfo=UTC)
NOV2 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def _people(seq: int, rows: list[tuple[str, str, str]]) -> tuple[str, bytes]:
    body = [
        {
            "workspace_id": 1,
            "customer_id": c,
            "internal_customer_id": i,
            "deleted": False,
            "suppressed": False,
            "created_at": NOV1,
            "updated_at": NOV1,
            "email_addr": e,
            "seq_num": seq,
        }
        for c, i, e in rows
    ]
    return f"{SRC}/people_v4_1_{seq:018d}.parquet", _parquet(body)


def _deliveries(seq: int, rows: list[tuple[str, str, datetime, str]], version: int = 4) -> tuple[str, bytes]:
    body = [
        {
            "workspace_id": 1,
            "delivery_id": d,
            "internal_customer_id": i,
            "delivery_type": kind,
            "campaign_id": 7,
            "action_id": 70,
            "newsletter_id": None,
            "created_at": at,
            "seq_num": seq,
        }
        for d, i, at, kind in rows
    ]
    return f"{SRC}/deliveries_v{version}_1_{seq:018d}.parquet", _parquet(body)


def _ingest(source: MemoryObjectStore, store: MemoryObjectStore):  # type: ignore[no-untyped-def]
    return ingest_dataout(source, SRC + "/", store, root="landing", env="dev", workspace="ws1")


def _deliveries_on(store: MemoryObjectStore, day: int) -> dict[str, tuple[str | None, str]]:
    table = read_table(
        store, PartitionRef("landing", "dev", "ws1", "deliveries", datetime(2026, 11, day).date())
    )
    return {r["delivery_id"]: (r["customer_id"], r["delivery_type"]) for r in table.to_pylist()}


def test_new_files_land_by_event_date_with_customer_ids_resolved_and_are_processed_once() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(*_people(1, [("cust-1", "i1", "a@example.com"), ("cust-2", "i2", "b@example.com")]))
    source.write_bytes(*_deliveries(1, [("d1", "i1", NOV1, "email"), ("d2", "i2", NOV2, "email")]))
    report = _ingest(source, store)
    assert report.files == {"people": 1, "deliveries": 1}
    assert _deliveries_on(store, 1) == {"d1": ("cust-1", "email")}
    assert _deliveries_on(store, 2) == {"d2": ("cust-2", "email")}
    first = read_manifest(store, PartitionRef("landing", "dev", "ws1", "deliveries", NOV1.date()))

    again = _ingest(source, store)
    assert again.files == {} and again.partitions == []
    assert read_manifest(store, PartitionRef("landing", "dev", "ws1", "deliveries", NOV1.date())) == first


def test_latest_row_per_key_wins_and_a_late_file_never_overwrites() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(*_people(1, [("cust-1", "i1", "a@example.com")]))
    source.write_bytes(*_deliveries(5, [("d1", "i1", NOV1, "email")]))
    source.write_bytes(*_deliveries(6, [("d1", "i1", NOV1, "sms")]))  # same key, newer file: wins
    _ingest(source, store)
    assert _deliveries_on(store, 1) == {"d1": ("cust-1", "sms")}

    source.write_bytes(*_deliveries(3, [("d1", "i1", NOV1, "push"), ("d9", "i1", NOV1, "push")]))  # late
    report = _ingest(source, store)
    assert report.late_files and report.late_files[0].endswith("000000000000000003.parquet")
    assert _deliveries_on(store, 1) == {"d1": ("cust-1", "sms"), "d9": ("cust-1", "push")}


def test_unreadable_file_and_unknown_version_are_quarantined_and_counted() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"{SRC}/deliveries_v4_1_000000000000000001.parquet", b"this is not parquet")
    source.write_bytes(*_deliveries(2, [("d2", "i2", NOV1, "email")], version=9))
    source.write_bytes(*_deliveries(3, [("d3", "i3", NOV1, "email")]))
    report = _ingest(source, store)
    assert len(report.rejected_files) == 2
    assert any("unreadable parquet" in r for r in report.rejected_files.values())
    assert any("unknown deliveries schema version 9" in r for r in report.rejected_files.values())
    quarantined = store.list("landing/dev/ws1/_rejected/dataout/deliveries/")
    assert len([q for q in quarantined if q.endswith(".reason.json")]) == 2
    assert _deliveries_on(store, 1) == {"d3": (None, "email")}
    assert len(load_watermark(store, "landing", "dev", "ws1").processed["deliveries"]) == 3


def test_pipelines_track_csv_lands_as_events() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    csv = (
        "messageId,userId,event,timestamp,properties.product_id,properties.cart_id,properties.value\n"
        "m1,cust-1,added_to_cart,2026-11-01T10:00:00Z,p1,c1,99.5\n"
        "m2,cust-2,viewed_product,2026-11-02T11:00:00Z,p2,,\n"
    )
    source.write_bytes(f"{SRC}/int1.act9.1.track.csv", csv.encode())
    report = _ingest(source, store)
    assert report.files == {"events": 1}
    day1 = read_table(store, PartitionRef("landing", "dev", "ws1", "events", NOV1.date())).to_pylist()
    assert day1[0]["event_id"] == "m1" and day1[0]["cart_id"] == "c1" and day1[0]["value"] == 99.5
