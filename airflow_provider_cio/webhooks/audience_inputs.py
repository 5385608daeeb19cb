"""What the landed ``webhook_events`` add to an audience build, in the shapes the definitions already read.

The event-driven DAG (and, under ``realtime.webhook_inputs``, the hourly and daily builds) builds the same audiences
with the same definitions; the micro-batches only make their inputs fresher, as extra Parquet files next to the landed ones (the engine reads each table ``union_by_name``):

* ``events``: Data Pipelines track calls (``object_type = 'track'``) -> ``(event_id, customer_id, name, timestamp)``:
  the ``added_to_cart`` a cart audience starts from.
* ``deliveries``: Reporting Webhook message events -> one row per ``delivery_id`` with its campaign/action ids,
  ``created_at`` (the earliest event of the delivery, normally ``sent``) and ``clicked_at`` (the first click): the
  cart email a cart audience waits for, and whether it was clicked.
* ``orders``: a ``converted`` message event or a purchase track call (``order_completed`` by default) ->
  ``(customer_id, order_id, ordered_at)`` with no amount: enough for "no order since the cart" (the person leaves
  the cart audiences) and "ordered in the last N days" (the person joins the suppression audience); the average
  order value stays the warehouse's (``avg`` skips the missing amounts).

Duplicates with the hourly/daily landings are harmless: every reference definition reads these tables through
``max``/``min``/``EXISTS``/``DISTINCT``. Airflow-free; DuckDB does the reshaping out of core.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import list_partitions
from airflow_provider_cio.storage.base import ObjectStore

DATASET = "webhook_events"
PURCHASE_EVENTS = ("order_completed",)


def webhook_refs(
    store: ObjectStore, *, root: str, env: str, workspace: str, since: datetime, until: datetime
) -> list[PartitionRef]:
    """Committed ``webhook_events`` hour partitions received in ``[since, until)`` (hour granularity)."""
    first = since.replace(minute=0, second=0, microsecond=0)
    out = []
    for ref in list_partitions(store, root, env, workspace, DATASET):
        if ref.hr is None:
            continue
        start = datetime(ref.dt.year, ref.dt.month, ref.dt.day, ref.hr, tzinfo=first.tzinfo)
        if first <= start < until:
            out.append(ref)
    return out


def audience_tables(
    webhook_files: Sequence[str | Path],
    dest_dir: Path,
    *,
    until: datetime,
    purchase_events: Sequence[str] = PURCHASE_EVENTS,
) -> dict[str, Path]:
    """``events``/``deliveries``/``orders`` Parquet files (table -> path) from landed webhook parts; events at or
    after ``until`` are left out (a build sees nothing from after its as-of time). No files in: no files out."""
    import duckdb

    files = [str(f) for f in webhook_files]
    if not files:
        return {}
    dest_dir.mkdir(parents=True, exist_ok=True)
    listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f"CREATE TEMP TABLE w AS SELECT * FROM read_parquet([{listing}], union_by_name = true) "
            'WHERE customer_id IS NOT NULL AND "timestamp" < $until',
            {"until": until},
        )
        out = {name: dest_dir / f"webhook_{name}.parquet" for name in ("events", "deliveries", "orders")}
        queries = {
            "events": "SELECT event_id, customer_id, metric AS name, \"timestamp\" FROM w WHERE object_type = 'track'",
            "deliveries": (
                "SELECT delivery_id, any_value(customer_id) AS customer_id, any_value(campaign_id) AS campaign_id, "
                'any_value(action_id) AS action_id, min("timestamp") AS created_at, '
                "min(\"timestamp\") FILTER (WHERE metric = 'clicked') AS clicked_at "
                "FROM w WHERE object_type <> 'track' AND delivery_id IS NOT NULL GROUP BY delivery_id"
            ),
            "orders": (
                'SELECT customer_id, event_id AS order_id, CAST(NULL AS DOUBLE) AS amount, "timestamp" AS ordered_at '
                "FROM w WHERE (object_type <> 'track' AND metric = 'converted') "
                "OR (object_type = 'track' AND list_contains($purchases, metric))"
            ),
        }
        import pyarrow.parquet as pq

        for name, query in queries.items():
            params = {"purchases": list(purchase_events)} if name == "orders" else None
            pq.write_table(con.sql(query, params=params).to_arrow_table(), out[name])
        return out
    finally:
        con.close()


def lookback_window(as_of: datetime, days: int) -> tuple[datetime, datetime]:
    """The receipt hours a build reads: the same lookback as the landed datasets, up to its as-of time."""
    return as_of - timedelta(days=days), as_of
