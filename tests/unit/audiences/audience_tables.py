"""Hand-built landed and warehouse tables for audience tests: every row is here so expected answers are explicit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from airflow_provider_cio.datasets import arrow_schema

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def ago(*, days: float = 0, hours: float = 0) -> datetime:
    return AS_OF - timedelta(days=days, hours=hours)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _table(dataset: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(dataset)
    columns = {f.name: [row.get(f.name) for row in rows] for f in schema}
    return pa.table(columns, schema=schema)


def people(*rows: dict[str, Any]) -> pa.Table:
    """Rows need ``customer_id``; the rest defaults to a live, consented US person with no identifiers."""
    full = []
    for i, row in enumerate(rows):
        base = {
            "cio_id": f"cio-{i}",
            "country": "US",
            "deleted": False,
            "suppressed": False,
            "ad_consent": True,
            "created_at": ago(days=400),
            "updated_at": ago(days=10),
        }
        base.update(row)
        full.append(base)
    return _table("people", full)


def person(cid: str, **kw: Any) -> dict[str, Any]:
    """A person with a unique valid email unless one is given."""
    return {"customer_id": cid, "email": kw.pop("email", f"{cid}@example.com"), **kw}


def deliveries(*rows: dict[str, Any]) -> pa.Table:
    full = []
    for i, row in enumerate(rows):
        base = {"delivery_id": f"d-{i}", "delivery_type": "email", "created_at": ago(days=1)}
        base.update(row)
        full.append(base)
    return _table("deliveries", full)


def events(*rows: dict[str, Any]) -> pa.Table:
    full = []
    for i, row in enumerate(rows):
        base = {"event_id": f"e-{i}", "name": "viewed_product"}
        base.update(row)
        full.append(base)
    return _table("events", full)


def orders(*rows: tuple[str, float, datetime] | tuple[str, float, datetime, float]) -> pa.Table:
    """(customer_id, amount, ordered_at[, margin]); order ids are generated."""
    return pa.table(
        {
            "customer_id": pa.array([r[0] for r in rows], pa.string()),
            "order_id": pa.array([f"o-{i}" for i in range(len(rows))], pa.string()),
            "amount": pa.array([float(r[1]) for r in rows], pa.float64()),
            "margin": pa.array(
                [float(r[3]) if len(r) > 3 else float(r[1]) * 0.3 for r in rows], pa.float64()
            ),
            "ordered_at": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )


def ids(build: Any) -> set[str]:
    return set(build.members.column("customer_id").to_pylist())
