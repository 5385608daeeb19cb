"""Deterministic deliveries/people tables for the gate tests (clean by default, dirt seeded on request)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_cio.datasets import arrow_schema

INTERVAL_START = datetime(2026, 3, 1, tzinfo=UTC)
INTERVAL_END = INTERVAL_START + timedelta(days=1)
TYPES = ["email", "push", "sms", "in_app"]


def deliveries(rows: int = 200) -> dict[str, list[object]]:
    """Column lists of a clean deliveries partition: unique ids, every row identified, fresh timestamps."""
    created: list[object] = [INTERVAL_START + timedelta(seconds=int(i * 86_000 / rows)) for i in range(rows)]
    return {
        "delivery_id": [f"d{i:06d}" for i in range(rows)],
        "customer_id": [f"c{i % 97:04d}" for i in range(rows)],
        "internal_customer_id": [None] * rows,
        "campaign_id": [i % 7 for i in range(rows)],
        "action_id": [i % 11 for i in range(rows)],
        "newsletter_id": [None] * rows,
        "delivery_type": [TYPES[i % len(TYPES)] for i in range(rows)],
        "created_at": created,
        "sent_at": created,
        "delivered_at": created,
        "opened_at": [None] * rows,
        "clicked_at": [None] * rows,
        "converted_at": [None] * rows,
        "bounced_at": [None] * rows,
    }


def people(rows: int = 200) -> dict[str, list[object]]:
    """Column lists of a clean people partition."""
    updated: list[object] = [INTERVAL_START + timedelta(seconds=int(i * 86_000 / rows)) for i in range(rows)]
    return {
        "customer_id": [f"c{i:05d}" for i in range(rows)],
        "internal_customer_id": [None] * rows,
        "cio_id": [f"cio{i}" for i in range(rows)],
        "email": [f"user{i}@example.com" for i in range(rows)],
        "phone": [None] * rows,
        "first_name": [None] * rows,
        "last_name": [None] * rows,
        "city": [None] * rows,
        "state": [None] * rows,
        "zip": [None] * rows,
        "country": ["US"] * rows,
        "deleted": [False] * rows,
        "suppressed": [False] * rows,
        "ad_consent": [True] * rows,
        "created_at": updated,
        "updated_at": updated,
    }


def to_table(dataset: str, columns: dict[str, list[object]]) -> pa.Table:
    """A table in the dataset's canonical schema; extra columns are inferred, dropped ones are left out."""
    schema = arrow_schema(dataset)
    fields = []
    for name in columns:
        index = schema.get_field_index(name)
        fields.append(schema.field(index).with_nullable(True) if index >= 0 else None)
    arrays = [
        pa.array(values, type=field.type) if field is not None else pa.array(values)
        for field, values in zip(fields, columns.values(), strict=True)
    ]
    return pa.table(arrays, names=list(columns))


def write_parts(directory: Path, table: pa.Table, parts: int = 2) -> list[Path]:
    """Split ``table`` into ``parts`` Parquet files (exercises multi-file reads)."""
    directory.mkdir(parents=True, exist_ok=True)
    step = -(-table.num_rows // parts) if table.num_rows else 0
    paths = []
    for index in range(parts):
        path = directory / f"part-{index:05d}.parquet"
        pq.write_table(table.slice(index * step, step) if step else table, path)
        paths.append(path)
    return paths
