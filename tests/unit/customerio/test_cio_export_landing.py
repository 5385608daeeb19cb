"""App API exports into the landing layout, the operator's deferral, and the trigger, against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow.compute as pc
import pytest

from airflow_provider_cio.landing.app_api import create_exports, land_exports, land_listing, wait_for_exports
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_manifest, read_table
from airflow_provider_cio.landing.writer import TooManyRejectedRows
from airflow_provider_cio.storage import MemoryObjectStore
from cio_devkit.emulators.customerio import CustomerIoEmulator
from cio_devkit.emulators.synthetic import SyntheticWorkspace

START = datetime(2024, 3, 5, tzinfo=UTC)
END = datetime(2024, 3, 6, tzinfo=UTC)


def _ref(dataset: str) -> PartitionRef:
    return PartitionRef("landing", "dev", "ws", dataset, START.date())


def _expected_deliveries(ws: SyntheticWorkspace) -> set[str]:
    created = ws.deliveries["created_at"]
    mask = pc.and_(pc.greater_equal(created, START), pc.less(created, END))
    return set(ws.deliveries.filter(mask)["delivery_id"].to_pylist())


def test_deliveries_exports_for_the_interval_land_exactly_its_rows(
    make_client: Any, cio_workspace: SyntheticWorkspace
) -> None:
    client = make_client()
    store = MemoryObjectStore()
    ids = create_exports(client, "deliveries", START, END)
    wait_for_exports(client, ids, poll_interval=0.01, timeout=30, sleep=lambda _: None)
    manifest = land_exports(client, store, _ref("deliveries"), ids)
    landed = read_table(store, _ref("deliveries"))
    assert set(landed["delivery_id"].to_pylist()) == _expected_deliveries(cio_workspace)
    assert manifest.source_ids == [f"export:{i}" for i in ids]
    assert manifest.rejected_rows == 0


def test_malformed_rows_are_quarantined_and_counted_and_too_many_fail_without_commit(
    make_client: Any, emulator: CustomerIoEmulator
) -> None:
    client = make_client()
    store = MemoryObjectStore()
    emulator.faults.malformed_rows(3)
    ids = create_exports(client, "people", START, END)
    wait_for_exports(client, ids, poll_interval=0.01, timeout=30, sleep=lambda _: None)
    manifest = land_exports(client, store, _ref("people"), ids, max_rejected_rate=0.05)
    assert manifest.rejected_rows == 3
    quarantined = b"".join(store.read_bytes(p) for p in manifest.rejected_parts)
    assert quarantined.count(b"\n") == 3 and b"columns" in quarantined

    emulator.faults.malformed_rows(50)
    ids = create_exports(client, "people", START, END)
    wait_for_exports(client, ids, poll_interval=0.01, timeout=30, sleep=lambda _: None)
    with pytest.raises(TooManyRejectedRows, match="rows rejected"):
        land_exports(client, store, _ref("people"), ids, max_rejected_rate=0.01)
    assert read_manifest(store, _ref("people")).generation == manifest.generation


def test_listings_land_metrics_and_events_of_the_interval(
    make_client: Any, cio_workspace: SyntheticWorkspace
) -> None:
    client = make_client()
    store = MemoryObjectStore()
    land_listing(client, store, _ref("events"), START, END, page_limit=1000)
    events = read_table(store, _ref("events"))
    ts = cio_workspace.events["timestamp"]
    expected = cio_workspace.events.filter(pc.and_(pc.greater_equal(ts, START), pc.less(ts, END)))
    assert sorted(events["event_id"].to_pylist()) == sorted(expected["event_id"].to_pylist())
    land_listing(client, store, _ref("metrics"), START, END)
    metrics = read_table(store, _ref("metrics"))
    assert set(metrics["delivery_id"].to_pylist()) <= _expected_deliveries(cio_workspace)
    assert metrics.num_rows > 0


def test_metrics_rows_are_engagement_only_never_the_messages_own_timestamps() -> None:
    """GET /v1/messages lists ``created`` (and ``drafted``, ``prefetch_*``) among a message's metrics: they are the
    message's own timestamps, not engagement (``created`` is deliveries.created_at), and the metrics contract's
    ``metric`` values leave them out. The demo's metrics partition grew by one row per message when the emulator
    began listing ``created``."""
    from airflow_provider_cio.landing.app_api import _metric_rows

    message = {
        "id": "d1",
        "customer_id": "cust-1",
        "metrics": {"created": 100, "drafted": 90, "prefetch_opened": 120, "sent": 110, "opened": 130},
    }
    rows = [r for r in _metric_rows([message]) if not isinstance(r, str)]
    assert sorted(r["metric"] for r in rows) == ["opened", "sent"]
    assert list(_metric_rows([{"metrics": {"sent": 1}}])) == ["message_without_id"]
