"""run_gate on a landed partition: manifests for history, reports next to the data, clear errors on bad input."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pyarrow as pa
import pytest
from quality_factories import INTERVAL_END, INTERVAL_START, deliveries, people, to_table

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_manifest
from airflow_provider_cio.landing.writer import write_table
from airflow_provider_cio.quality import (
    ContractNotFound,
    EmptyPartition,
    PartitionInconsistent,
    PartitionMissing,
    run_gate,
)
from airflow_provider_cio.storage import MemoryObjectStore

DAY = date(2026, 3, 1)


def ref(dataset: str = "deliveries", day: date = DAY) -> PartitionRef:
    return PartitionRef("landing", "test", "ws1", dataset, day)


def land_history(store: MemoryObjectStore, counts: list[int]) -> None:
    for back, rows in enumerate(reversed(counts), start=1):
        write_table(store, ref(day=DAY - timedelta(days=back)), to_table("deliveries", deliveries(rows)))


def test_run_gate_uses_manifest_history_and_writes_reports() -> None:
    store = MemoryObjectStore()
    land_history(store, [500, 100, 120, 110])  # only the last 3 count with trailing_n=3
    write_table(
        store, ref(day=DAY + timedelta(days=1)), to_table("deliveries", deliveries(5))
    )  # later: ignored
    write_table(store, ref(), to_table("deliveries", deliveries(400)))
    result = run_gate(store, ref(), trailing_n=3, interval_start=INTERVAL_START, interval_end=INTERVAL_END)
    trend = next(c for c in result.checks if c.name == "row_count_trend")
    assert trend.threshold == "row count between 55 and 330"  # median 110 of 100, 120, 110
    assert not result.success and result.likely_causes == ["volume_anomaly"]
    assert result.partition == "dt=2026-03-01"
    quality = ref().quality_prefix
    assert result.report_url == f"memory://memory/{quality}/report.html"
    assert result.result_url == f"memory://memory/{quality}/result.json"
    stored = json.loads(store.read_bytes(f"{quality}/result.json"))
    assert (
        stored["success"] is False and stored["rows"] == 400 and len(stored["checks"]) == len(result.checks)
    )
    html = store.read_bytes(f"{quality}/report.html").decode()
    assert "row_count_trend" in html and "FAILED" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html and "<link" not in html
    assert f"Full report: {result.report_url}" in result.on_call_message()
    assert result.to_summary()["report_url"] == result.report_url


def test_report_and_result_never_hold_raw_pii() -> None:
    store = MemoryObjectStore()
    columns = people(50)
    columns["email"][0:3] = ["alice.smith.example.com", "bob@", "carol@@example.org"]
    columns["customer_id"][5] = columns["customer_id"][6]
    write_table(store, ref("people"), to_table("people", columns))
    result = run_gate(store, ref("people"), interval_end=INTERVAL_END)
    assert {c.name for c in result.checks if not c.success} == {"email_shape", "unique:customer_id"}
    published = [
        store.read_bytes(f"{ref('people').quality_prefix}/report.html").decode(),
        store.read_bytes(f"{ref('people').quality_prefix}/result.json").decode(),
        result.on_call_message(),
        json.dumps(result.to_summary()),
    ]
    for text in published:
        for raw in ("alice.smith.example.com", "bob@", "carol@@example.org", str(columns["customer_id"][5])):
            assert raw not in text
    assert "sha256:" in published[0]  # samples are shown, hashed


def test_missing_partition_names_it() -> None:
    with pytest.raises(
        PartitionMissing, match=r"partition deliveries dt=2026-03-01 .*landing/test/ws1/deliveries"
    ):
        run_gate(MemoryObjectStore(), ref(), interval_end=INTERVAL_END)


def test_part_that_disagrees_with_manifest() -> None:
    store = MemoryObjectStore()
    manifest = write_table(store, ref(), to_table("deliveries", deliveries(30)))
    part = manifest.parts[0].path
    store.write_bytes(part, store.read_bytes(part)[:-10])
    with pytest.raises(PartitionInconsistent, match="quality gate cannot run on deliveries dt=2026-03-01"):
        run_gate(store, ref(), interval_end=INTERVAL_END)
    store.delete(part)
    with pytest.raises(PartitionInconsistent, match="missing"):
        run_gate(store, ref(), interval_end=INTERVAL_END)


def test_manifest_row_count_lie_is_caught() -> None:
    store = MemoryObjectStore()
    write_table(store, ref(), to_table("deliveries", deliveries(30)))
    manifest = read_manifest(store, ref())
    manifest.rows = 31
    store.write_bytes(ref().manifest_path, manifest.to_json())
    with pytest.raises(PartitionInconsistent, match="manifest says 31 rows, files hold 30"):
        run_gate(store, ref(), interval_end=INTERVAL_END)


def test_empty_partition() -> None:
    store = MemoryObjectStore()
    write_table(store, ref(), arrow_schema("deliveries").empty_table())
    with pytest.raises(EmptyPartition, match="holds zero rows"):
        run_gate(store, ref(), interval_end=INTERVAL_END)


def test_unknown_dataset_has_no_contract() -> None:
    store = MemoryObjectStore()
    orders = PartitionRef("landing", "test", "ws1", "orders", DAY)
    with pytest.raises(ContractNotFound, match="no contract for dataset 'orders'"):
        run_gate(store, orders, interval_end=INTERVAL_END)


def test_column_the_source_stopped_sending_is_drift_not_an_identity_gap() -> None:
    """The landing fills a column the export lacked with nulls and says so in the manifest; the gate names it."""
    from airflow_provider_cio.landing.writer import PartitionWriter

    store = MemoryObjectStore()
    table = to_table("deliveries", deliveries(200))
    table = table.set_column(
        table.schema.get_field_index("customer_id"), "customer_id", pa.nulls(200, pa.string())
    )
    with PartitionWriter(store, ref(), arrow_schema("deliveries"), source="test") as writer:
        writer.write_batch(table.select(arrow_schema("deliveries").names).cast(arrow_schema("deliveries")))
        writer.note_absent_columns(["customer_id"])
        writer.commit()
    assert read_manifest(store, ref()).absent_columns == ["customer_id"]

    result = run_gate(store, ref(), interval_start=INTERVAL_START, interval_end=INTERVAL_END)

    assert not result.success
    assert [(f.kind, f.column, f.severity) for f in result.drift] == [
        ("missing_at_source", "customer_id", "warning")
    ]
    coverage = next(c for c in result.checks if c.name == "identity_coverage:customer_id")
    assert not coverage.success and coverage.cause == "schema_drift"
    assert result.likely_causes == ["schema_drift"]
    assert "column 'customer_id' (string) was not in the source export" in result.on_call_message()
