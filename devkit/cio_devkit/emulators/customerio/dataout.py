"""Write the files Customer.io would write into our container, from a synthetic workspace.

Names, columns and types come from the emulator's own reading (``dataout_format.py``, with its sources), never from
our ingestion code.

``write_dataout_files``: Journeys data-out, one file per dataset per sync holding the rows changed since the last one
([JD] "Azure blob storage", https://docs.customer.io/journeys/ms-azure-data-out/), split into incremental files by time,
later files re-sending some earlier rows with a newer ``seq_num`` (people unsubscribing, attribute changes, plain
re-sends) so that ingestion must keep the newest row per key.

``write_pipelines_files``: Data Pipelines "Azure Blob Storage" files of ``track`` calls,
``<destination id>.<action id>.<position>.track.<ext>`` as CSV, JSON lines or Parquet, created once and never
overwritten ("Microsoft Azure Blob Storage Destination",
https://docs.customer.io/cdp/destinations/connections/azure-blob-storage); nested objects flattened (CSV/Parquet)
or kept (JSON).
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from cio_devkit.emulators.customerio.dataout_format import (
    DATAOUT_VERSION,
    TIMESTAMP_UNIT,
    BlobWriter,
    dataout_name,
    file_schema,
    has_seq_num,
    pipelines_name,
)
from cio_devkit.emulators.synthetic import CAMPAIGNS, SyntheticWorkspace

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

DATAOUT_DATASETS = ("deliveries", "metrics", "subjects", "people", "attributes")
PEOPLE_ATTRIBUTES = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "city",
    "state",
    "zip",
    "country",
    "ad_consent",
)
DEFAULT_SEQUENCE_BASE = 241_600_000_000_000_000


def _us(table: pa.Table, column: str) -> np.ndarray:
    import pyarrow as pa

    return table[column].cast(pa.int64()).fill_null(0).to_numpy()


def _dataout_tables(ws: SyntheticWorkspace) -> dict[str, tuple[pa.Table, str]]:
    """Each data-out dataset in its v4 columns (without seq_num) and the column that orders it in time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wid = ws.workspace_id
    d = ws.deliveries
    n = d.num_rows
    null_int = pa.nulls(n, pa.int64())
    deliveries = pa.table(
        {
            "workspace_id": pa.repeat(pa.scalar(wid, pa.int64()), n),
            "delivery_id": d["delivery_id"],
            "internal_customer_id": d["internal_customer_id"],
            "subject_id": pc.if_else(
                pc.is_valid(d["campaign_id"]),
                pc.binary_join_element_wise("sub-", d["delivery_id"], ""),
                pa.scalar(None, pa.string()),
            ),
            "event_id": pa.nulls(n, pa.string()),
            "delivery_type": d["delivery_type"],
            "campaign_id": d["campaign_id"],
            "action_id": d["action_id"],
            "newsletter_id": d["newsletter_id"],
            "content_id": pc.if_else(pc.is_valid(d["newsletter_id"]), pa.scalar(1, pa.int64()), null_int),
            "trigger_id": null_int,
            "created_at": d["created_at"],
            "transactional_message_id": null_int,
        }
    )
    m = ws.metrics
    link_id = pc.if_else(
        pc.is_valid(m["link_url"]), pa.scalar(1, pa.int64()), pa.nulls(m.num_rows, pa.int64())
    )
    metrics = pa.table(
        {
            "event_id": m["event_id"],
            "workspace_id": pa.repeat(pa.scalar(wid, pa.int64()), m.num_rows),
            "delivery_id": m["delivery_id"],
            "metric": m["metric"],
            "created_at": m["created_at"],
            "reason": m["reason"],
            "link_id": link_id,
            "link_url": m["link_url"],
        }
    )
    campaign_deliveries = d.filter(pc.is_valid(d["campaign_id"]))
    event_triggered = pa.array([cid for cid, _, kind in CAMPAIGNS if kind == "cart_abandonment"], pa.int64())
    campaign_type = pc.if_else(
        pc.is_in(campaign_deliveries["campaign_id"], event_triggered),
        pa.scalar("event"),
        pa.scalar("segment"),
    )
    started = pa.array(_us(campaign_deliveries, "created_at") - 3_600_000_000, pa.timestamp("us", tz="UTC"))
    k = campaign_deliveries.num_rows
    subjects = pa.table(
        {
            "workspace_id": pa.repeat(pa.scalar(wid, pa.int64()), k),
            "subject_name": pc.binary_join_element_wise("sub-", campaign_deliveries["delivery_id"], ""),
            "internal_customer_id": campaign_deliveries["internal_customer_id"],
            "campaign_type": campaign_type,
            "campaign_id": campaign_deliveries["campaign_id"],
            "event_id": pa.nulls(k, pa.string()),
            "trigger_id": pa.nulls(k, pa.int64()),
            "started_campaign_at": started,
            "created_at": campaign_deliveries["created_at"],
        }
    )
    p = ws.people
    people = pa.table(
        {
            "workspace_id": pa.repeat(pa.scalar(wid, pa.int64()), p.num_rows),
            "customer_id": p["customer_id"],
            "internal_customer_id": p["internal_customer_id"],
            "deleted": p["deleted"],
            "suppressed": p["suppressed"],
            "created_at": p["created_at"],
            "updated_at": p["updated_at"],
            "email_addr": p["email"],
        }
    )
    pieces = []
    for name in PEOPLE_ATTRIBUTES:
        values = p[name].cast(pa.string())
        keep = pc.is_valid(values)
        pieces.append(
            pa.table(
                {
                    "workspace_id": pa.repeat(pa.scalar(wid, pa.int64()), p.num_rows),
                    "internal_customer_id": p["internal_customer_id"],
                    "attribute_name": pa.repeat(pa.scalar(name), p.num_rows),
                    "attribute_value": values,
                    "timestamp": p["updated_at"],
                }
            ).filter(keep)
        )
    attributes = pa.concat_tables(pieces)
    return {
        "deliveries": (deliveries, "created_at"),
        "metrics": (metrics, "created_at"),
        "subjects": (subjects, "created_at"),
        "people": (people, "updated_at"),
        "attributes": (attributes, "timestamp"),
    }


def _without_gone_people(tables: dict[str, tuple[pa.Table, str]], ws: SyntheticWorkspace) -> None:
    """[JD] "People who have been deleted or suppressed before the first sync are not included in the People file
    export and the historical data in the other export files is anonymized for the deleted and suppressed People."

    The synthetic workspace has no deletion time, so everyone deleted or suppressed counts as gone before the first
    sync. "Anonymized" is read as: their rows keep no ``internal_customer_id`` (deliveries, subjects) and their
    attribute rows are not sent; the page does not say more (docs/platform-semantics.md, "could not confirm").
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    p = ws.people
    gone = p.filter(pc.or_(p["deleted"], p["suppressed"]))["internal_customer_id"].combine_chunks()
    for dataset, (table, time_column) in list(tables.items()):
        if "internal_customer_id" not in table.column_names:
            continue
        is_gone = pc.is_in(table["internal_customer_id"], value_set=gone)
        if dataset in ("people", "attributes"):
            tables[dataset] = (table.filter(pc.invert(is_gone)), time_column)
        else:
            index = table.schema.get_field_index("internal_customer_id")
            anonymous = pc.if_else(is_gone, pa.scalar(None, pa.string()), table["internal_customer_id"])
            tables[dataset] = (table.set_column(index, "internal_customer_id", anonymous), time_column)


def _changed_rows(dataset: str, rows: pa.Table, newer_us: int) -> pa.Table:
    """What a later file re-sends for rows that changed: people unsubscribe, consent is withdrawn, others repeat."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stamp = pa.repeat(pa.scalar(newer_us, pa.timestamp("us", tz="UTC")), rows.num_rows)
    if dataset == "people":
        rows = rows.set_column(
            rows.schema.get_field_index("suppressed"), "suppressed", pa.repeat(True, rows.num_rows)
        )
        return rows.set_column(rows.schema.get_field_index("updated_at"), "updated_at", stamp)
    if dataset == "attributes":
        consent = pc.equal(rows["attribute_name"], "ad_consent")
        rows = rows.filter(consent)
        stamp = stamp.slice(0, rows.num_rows)
        rows = rows.set_column(
            rows.schema.get_field_index("attribute_value"),
            "attribute_value",
            pa.repeat("false", rows.num_rows),
        )
        return rows.set_column(rows.schema.get_field_index("timestamp"), "timestamp", stamp)
    return rows


def write_dataout_files(
    ws: SyntheticWorkspace,
    store: BlobWriter,
    prefix: str,
    *,
    version: int = DATAOUT_VERSION,
    files_per_dataset: int = 3,
    fmt: str = "parquet",
    datasets: tuple[str, ...] = DATAOUT_DATASETS,
    update_fraction: float = 0.05,
    sequence_base: int = DEFAULT_SEQUENCE_BASE,
    timestamp_unit: str = TIMESTAMP_UNIT,
    seed: int | None = None,
    gone_people: str = "dropped",
) -> list[str]:
    """Write Journeys data-out files under ``prefix``; return their paths in the order Customer.io wrote them.

    Rows are split by their time column into ``files_per_dataset`` incremental files. Every file after the first
    also re-sends ``update_fraction`` of the rows of earlier files with a newer ``seq_num`` (and, for people and
    attributes, changed values), like a real incremental sync. ``gone_people="dropped"`` follows [JD] (people deleted
    or suppressed before the first sync are left out, their history anonymized); ``"kept"`` sends everyone.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt not in ("parquet", "csv"):
        raise ValueError("fmt must be 'parquet' or 'csv'")
    if files_per_dataset < 1:
        raise ValueError("files_per_dataset must be at least 1")
    rng = np.random.default_rng(ws.seed if seed is None else seed)
    if gone_people not in ("dropped", "kept"):
        raise ValueError("gone_people must be 'dropped' or 'kept'")
    tables = _dataout_tables(ws)
    if gone_people == "dropped":
        _without_gone_people(tables, ws)
    base = prefix.rstrip("/")
    written: list[str] = []
    end_us = int(ws.end_at.timestamp()) * 1_000_000
    for ds_index, dataset in enumerate(datasets):
        table, time_column = tables[dataset]
        times = _us(table, time_column)
        order = np.argsort(times, kind="stable")
        bounds = np.linspace(0, len(order), files_per_dataset + 1).astype(np.int64)
        next_seq = 1
        for file_index in range(files_per_dataset):
            part = table.take(pa.array(order[bounds[file_index] : bounds[file_index + 1]]))
            if file_index > 0 and update_fraction > 0 and bounds[file_index] > 0:
                earlier = order[: bounds[file_index]]
                chosen = np.sort(
                    rng.choice(earlier, size=max(1, int(len(earlier) * update_fraction)), replace=False)
                )
                newer_us = end_us - (files_per_dataset - file_index) * 60_000_000
                changed = _changed_rows(dataset, table.take(pa.array(chosen)), newer_us)
                part = pa.concat_tables([part, changed])
            if has_seq_num(dataset):
                part = part.append_column("seq_num", pa.array(np.arange(next_seq, next_seq + part.num_rows)))
                next_seq += part.num_rows
            part = part.cast(file_schema(dataset, timestamp_unit))
            sequence = sequence_base + file_index * 1_000_000 + ds_index * 1000 + 123
            path = f"{base}/{dataout_name(dataset, ws.workspace_id, sequence, version=version, ext=fmt)}"
            buffer = io.BytesIO()
            if fmt == "parquet":
                pq.write_table(part, buffer, compression="snappy")
            else:
                pacsv.write_csv(part, buffer)
            store.write_bytes(path, buffer.getvalue())
            written.append(path)
    return written


def _track_calls(ws: SyntheticWorkspace) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    e = ws.events
    millis = pc.cast(e["timestamp"], pa.timestamp("ms", tz="UTC"), safe=False)
    stamp = pc.strftime(millis, format="%Y-%m-%dT%H:%M:%SZ")  # %S carries the milliseconds
    return pa.table(
        {
            "type": pa.repeat("track", e.num_rows),
            "event": e["name"],
            "userId": e["customer_id"],
            "anonymousId": pa.nulls(e.num_rows, pa.string()),
            "messageId": e["event_id"],
            "timestamp": stamp,
            "receivedAt": stamp,
            "properties_product_id": e["product_id"],
            "properties_cart_id": e["cart_id"],
            "properties_value": e["value"],
        }
    )


def write_pipelines_files(
    ws: SyntheticWorkspace,
    store: BlobWriter,
    prefix: str,
    *,
    integration_id: str = "int_4f2a",
    action_id: str = "act_9b1c",
    fmt: str = "json",
    files: int = 3,
    flatten_separator: str = "_",
) -> list[str]:
    """Write Data Pipelines storage files of ``track`` calls (one per interval); return their paths in order."""
    import numpy as np
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt not in ("csv", "json", "parquet"):
        raise ValueError("fmt must be 'csv', 'json' or 'parquet'")
    calls = _track_calls(ws)
    if flatten_separator != "_":
        calls = calls.rename_columns(
            [c.replace("properties_", f"properties{flatten_separator}", 1) for c in calls.column_names]
        )
    bounds = np.linspace(0, calls.num_rows, files + 1).astype(np.int64)
    base = prefix.rstrip("/")
    written: list[str] = []
    for position in range(1, files + 1):
        part = calls.slice(int(bounds[position - 1]), int(bounds[position] - bounds[position - 1]))
        buffer = io.BytesIO()
        if fmt == "parquet":
            pq.write_table(part, buffer)
        elif fmt == "csv":
            pacsv.write_csv(part, buffer)
        else:
            for row in part.to_pylist():
                buffer.write(json.dumps(_nest(row, flatten_separator), ensure_ascii=False).encode("utf-8"))
                buffer.write(b"\n")
        path = f"{base}/{pipelines_name(integration_id, action_id, position, 'track', fmt)}"
        store.write_bytes(path, buffer.getvalue(), overwrite=False)
        written.append(path)
    return written


def _nest(row: dict[str, Any], separator: str) -> dict[str, Any]:
    """JSON keeps nested objects: ``properties_x`` goes back under ``properties``."""
    out: dict[str, Any] = {}
    marker = f"properties{separator}"
    for key, value in row.items():
        if key.startswith(marker):
            out.setdefault("properties", {})[key[len(marker) :]] = value
        else:
            out[key] = value
    return out
