"""Landing from the App API (pull): exports for bulk datasets, cursor listings for the rest.

| dataset    | how                                                                                       |
|------------|-------------------------------------------------------------------------------------------|
| deliveries | one deliveries export per campaign / newsletter, covering the data interval               |
| people     | one customers export (everyone, or a segment), the full current state                     |
| metrics    | ``GET /v1/messages`` over the interval, one row per metric timestamp                      |
| events     | ``GET /v1/activities`` (type event), kept when their timestamp falls in the interval        |

Every path streams into one ``PartitionWriter``: memory stays bounded and the partition commits whole or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.manifest import Manifest
from airflow_provider_cio.landing.shrink import ShrinkPolicy
from airflow_provider_cio.landing.writer import PartitionWriter
from airflow_provider_cio.storage.base import ObjectStore

if TYPE_CHECKING:
    from airflow_provider_cio.customerio.client import CustomerIoClient

log = logging.getLogger(__name__)

EXPORT_DATASETS = ("deliveries", "people")
LISTING_DATASETS = ("metrics", "events")
SOURCE = "customerio_app_api"
EVERYONE = {"and": [{"attribute": {"field": "id", "operator": "exists"}}]}
LISTING_BATCH_ROWS = 50_000


def create_exports(
    client: CustomerIoClient,
    dataset: str,
    start: datetime,
    end: datetime,
    *,
    campaign_ids: Iterable[int] | None = None,
    newsletter_ids: Iterable[int] | None = None,
    segment_id: int | None = None,
) -> list[int]:
    """Start the exports that together cover ``dataset`` for [start, end); return their ids (pushed to XCom early).

    Deliveries exports take exactly one parent, so one export per campaign and per newsletter (all of them unless
    ``campaign_ids`` / ``newsletter_ids`` narrow it).
    """
    if dataset == "people":
        filters = {"segment": {"id": int(segment_id)}} if segment_id is not None else EVERYONE
        from airflow_provider_cio.customerio.export_format import PEOPLE_EXPORT_ATTRIBUTES

        return [int(client.create_customers_export(filters, list(PEOPLE_EXPORT_ATTRIBUTES))["id"])]
    if dataset != "deliveries":
        raise ValueError(
            f"dataset {dataset!r} is not exported through the App API; exports cover {EXPORT_DATASETS}"
        )
    campaigns = (
        list(campaign_ids) if campaign_ids is not None else [int(c["id"]) for c in client.list_campaigns()]
    )
    newsletters = (
        list(newsletter_ids)
        if newsletter_ids is not None
        else [int(n["id"]) for n in client.list_newsletters()]
    )
    ids = [int(client.create_deliveries_export(campaign_id=c, start=start, end=end)["id"]) for c in campaigns]
    ids += [
        int(client.create_deliveries_export(newsletter_id=n, start=start, end=end)["id"]) for n in newsletters
    ]
    return ids


def wait_for_exports(
    client: CustomerIoClient,
    export_ids: list[int],
    *,
    poll_interval: float,
    timeout: float,
    sleep: Any = None,
) -> None:
    """Poll every export each round (one sleep per round, not per export) until all are done.

    Raises the client's ``CustomerIoExportFailed`` / ``CustomerIoExportTimeout`` naming the export.
    """
    import time

    from airflow_provider_cio.customerio.errors import CustomerIoExportFailed, CustomerIoExportTimeout
    from airflow_provider_cio.customerio.export_status import ExportStatus, export_status

    pause = sleep or time.sleep
    deadline = time.monotonic() + timeout
    pending = list(export_ids)
    while pending:
        still = []
        for export_id in pending:
            export = client.get_export(export_id)
            status = export_status(export)
            if status is ExportStatus.FAILED:
                raise CustomerIoExportFailed(f"Customer.io export {export_id} failed on Customer.io's side")
            if status is not ExportStatus.DONE:
                still.append(export_id)
        pending = still
        if pending:
            if time.monotonic() + poll_interval > deadline:
                raise CustomerIoExportTimeout(f"Customer.io exports {pending} not done within {timeout:.0f}s")
            pause(poll_interval)


def land_exports(
    client: CustomerIoClient,
    store: ObjectStore,
    ref: PartitionRef,
    export_ids: list[int],
    *,
    max_rejected_rate: float = 0.01,
    export_time: datetime | None = None,
    shrink: ShrinkPolicy | None = None,
) -> Manifest:
    """Download finished exports (fresh signed URL per attempt) and land them as one partition.

    ``shrink``: the rerun shrink guard against the committed partition (``PartitionShrink``)."""
    from airflow_provider_cio.customerio.export_csv import Quarantine, absent_columns, iter_export_batches

    fills: dict[str, Any] = {}
    if ref.dataset == "people":
        stamp = export_time or datetime.now(UTC)
        fills = {"created_at": stamp, "updated_at": stamp}
    with PartitionWriter(
        store,
        ref,
        arrow_schema(ref.dataset),
        source=SOURCE,
        source_ids=[f"export:{i}" for i in export_ids],
        max_rejected_rate=max_rejected_rate,
        shrink=shrink,
    ) as writer:
        for export_id in export_ids:
            quarantine = Quarantine(max_examples=1_000_000)
            with client.download_export(export_id) as download:
                writer.note_absent_columns(absent_columns(download, ref.dataset, fills=fills))
                for batch in iter_export_batches(download, ref.dataset, quarantine=quarantine, fills=fills):
                    writer.write_batch(batch)
            for row in quarantine.examples:
                where = f"line {row.line}" if row.line is not None else f"record {row.record}"
                writer.reject(row.reason, detail=f"export {export_id} {where}")
        return writer.commit()


def land_listing(
    client: CustomerIoClient,
    store: ObjectStore,
    ref: PartitionRef,
    start: datetime,
    end: datetime,
    *,
    max_rejected_rate: float = 0.01,
    page_limit: int = 100,
    shrink: ShrinkPolicy | None = None,
) -> Manifest:
    """Page through the listing that feeds ``ref.dataset`` for [start, end) and land it.

    ``/v1/activities`` has no time filter: every page of the retained history (about 30 days) is read and rows
    outside the interval are skipped, so ``page_limit`` decides the request count (10 requests/s).
    """
    import pyarrow as pa

    schema = arrow_schema(ref.dataset)
    if ref.dataset == "metrics":
        rows = _metric_rows(client.iter_messages(start_ts=start, end_ts=end, limit=max(page_limit, 1000)))
    elif ref.dataset == "events":
        rows = _event_rows(client.iter_activities(type="event", limit=page_limit), start, end)
    else:
        raise ValueError(
            f"dataset {ref.dataset!r} is not landed from a listing; listings cover {LISTING_DATASETS}"
        )
    with PartitionWriter(
        store,
        ref,
        schema,
        source=SOURCE,
        source_ids=[f"listing:{ref.dataset}"],
        max_rejected_rate=max_rejected_rate,
        shrink=shrink,
    ) as writer:
        buffer: list[dict[str, Any]] = []
        for row in rows:
            if isinstance(row, str):
                writer.reject(row)
                continue
            buffer.append(row)
            if len(buffer) >= LISTING_BATCH_ROWS:
                writer.write_batch(pa.Table.from_pylist(buffer, schema=schema))
                buffer = []
        if buffer:
            writer.write_batch(pa.Table.from_pylist(buffer, schema=schema))
        return writer.commit()


def _ts(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _customer(item: dict[str, Any]) -> str | None:
    ident = item.get("customer_identifiers") or {}
    return ident.get("id") or item.get("customer_id")


# Timestamps of the message itself, not engagement: ``created`` is the delivery's own creation (landed as
# deliveries.created_at), ``drafted`` and ``prefetch_*`` precede sending. GET /v1/messages lists them in ``metrics``.
_NOT_ENGAGEMENT = frozenset({"created", "drafted"})


def _metric_rows(messages: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any] | str]:
    """One metrics row per engagement timestamp of each message (the metrics contract's ``metric`` values); a
    message without an id is a rejected row."""
    for message in messages:
        delivery_id = message.get("id")
        if not delivery_id:
            yield "message_without_id"
            continue
        for metric, at in sorted((message.get("metrics") or {}).items()):
            if metric in _NOT_ENGAGEMENT or metric.startswith("prefetch_"):
                continue
            created = _ts(at)
            if created is None:
                continue
            yield {
                "event_id": f"{delivery_id}:{metric}",
                "delivery_id": str(delivery_id),
                "customer_id": _customer(message),
                "metric": metric,
                "created_at": created,
                "link_url": None,
                "reason": message.get("failure_message") if metric in ("failed", "bounced") else None,
            }


def _event_rows(
    activities: Iterable[dict[str, Any]], start: datetime, end: datetime
) -> Iterator[dict[str, Any] | str]:
    for activity in activities:
        when = _ts(activity.get("timestamp"))
        if when is None or not activity.get("id") or not activity.get("name"):
            yield "activity_without_id_name_or_timestamp"
            continue
        if not start <= when < end:
            continue
        data = activity.get("data") or {}
        value = data.get("value")
        yield {
            "event_id": str(activity["id"]),
            "customer_id": _customer(activity),
            "name": str(activity["name"]),
            "product_id": data.get("product_id"),
            "cart_id": data.get("cart_id"),
            "value": float(value) if value not in (None, "") else None,
            "timestamp": when,
        }
