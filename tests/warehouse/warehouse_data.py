"""Synthetic landed and warehouse data for the cross-engine tests (the emulators' deterministic workspace)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from airflow_provider_cio.audiences.inputs import AudienceInputs

START = date(2026, 4, 1)
DAYS = 61


@dataclass(frozen=True)
class Landed:
    directory: Path
    as_of: datetime
    orders: pa.Table

    def path(self, name: str) -> str:
        return str(self.directory / f"{name}.parquet")

    def inputs(self, warehouse: dict[str, Any] | None = None) -> AudienceInputs:
        return AudienceInputs(
            people=self.path("people"),
            deliveries=self.path("deliveries"),
            events=self.path("events"),
            warehouse=warehouse if warehouse is not None else {"orders": self.path("orders")},
        )


def write_landed(directory: Path, people: int = 1500, seed: int = 7) -> Landed:
    """People, deliveries (one in eight without customer_id, as native data-out rows come: resolved through
    people's internal_customer_id), events and orders as Parquet files."""
    from cio_devkit.emulators.synthetic import generate_workspace

    ws = generate_workspace(people=people, seed=seed, start=START, days=DAYS)
    deliveries = ws.deliveries
    blank = pa.array([i % 8 == 0 for i in range(deliveries.num_rows)])
    deliveries = deliveries.set_column(
        deliveries.schema.get_field_index("customer_id"),
        "customer_id",
        pc.if_else(blank, pa.scalar(None, pa.string()), deliveries.column("customer_id")),
    )
    for name, table in (
        ("people", ws.people),
        ("deliveries", deliveries),
        ("events", ws.events),
        ("orders", ws.orders),
    ):
        pq.write_table(table, directory / f"{name}.parquet")
    return Landed(directory, ws.end_at, ws.orders)
