"""Land webhook micro-batches the way the receiver's flusher commits them (one generation of an hour partition)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.writer import PartitionWriter
from airflow_provider_cio.storage import MemoryObjectStore

ROOT, ENV, WS = "landing", "test", "ws"


def webhook_row(event_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    return {"event_id": event_id, "timestamp": at, "received_at": at, **kw}


def land_batch(store: MemoryObjectStore, hour: datetime, rows: list[dict[str, Any]]) -> str:
    """Commit one micro-batch (a whole generation of the hour partition), as the receiver's flusher does."""
    schema = arrow_schema("webhook_events")
    ref = PartitionRef(ROOT, ENV, WS, "webhook_events", hour.date(), hour.hour)
    table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)
    with PartitionWriter(store, ref, schema, source="test", max_rejected_rate=0.0) as writer:
        writer.write_batch(table.to_batches()[0]) if table.num_rows else None
        return writer.commit().generation
