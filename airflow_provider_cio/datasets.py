"""The landed datasets and their current schemas: one contract between landing, quality and audiences.

Both sources (App API pull and native data-out files) are mapped to these schemas before they land. Timestamps are
UTC microseconds. Raw PII (email, phone, names) exists only in ``people`` in the landing zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# name -> (column, arrow type name, required)
_STR, _INT, _BOOL, _TS, _F64 = "string", "int64", "bool", "timestamp[us, tz=UTC]", "float64"

DATASET_COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "people": [
        ("customer_id", _STR, True),
        ("internal_customer_id", _STR, False),
        ("cio_id", _STR, False),
        ("email", _STR, False),
        ("phone", _STR, False),
        ("first_name", _STR, False),
        ("last_name", _STR, False),
        ("city", _STR, False),
        ("state", _STR, False),
        ("zip", _STR, False),
        ("country", _STR, False),
        ("deleted", _BOOL, True),
        ("suppressed", _BOOL, True),
        ("ad_consent", _BOOL, True),
        ("created_at", _TS, True),
        ("updated_at", _TS, True),
    ],
    "deliveries": [
        ("delivery_id", _STR, True),
        ("customer_id", _STR, False),
        ("internal_customer_id", _STR, False),
        ("campaign_id", _INT, False),
        ("action_id", _INT, False),
        ("newsletter_id", _INT, False),
        ("delivery_type", _STR, True),
        ("created_at", _TS, True),
        ("sent_at", _TS, False),
        ("delivered_at", _TS, False),
        ("opened_at", _TS, False),
        ("clicked_at", _TS, False),
        ("converted_at", _TS, False),
        ("bounced_at", _TS, False),
    ],
    "metrics": [
        ("event_id", _STR, True),
        ("delivery_id", _STR, True),
        ("customer_id", _STR, False),
        ("metric", _STR, True),
        ("created_at", _TS, True),
        ("link_url", _STR, False),
        ("reason", _STR, False),
    ],
    "events": [
        ("event_id", _STR, True),
        ("customer_id", _STR, False),
        ("name", _STR, True),
        ("product_id", _STR, False),
        ("cart_id", _STR, False),
        ("value", _F64, False),
        ("timestamp", _TS, True),
    ],
    # Customer.io Reporting Webhooks as the receiver lands them (airflow_provider_cio/webhooks): partitioned by the
    # hour they were received (a late retry lands in the hour it arrived, so a closed hour stays closed); the
    # identifiers' email and any message content are dropped before the event is written anywhere.
    "webhook_events": [
        ("event_id", _STR, True),
        ("object_type", _STR, True),
        ("metric", _STR, True),
        ("timestamp", _TS, True),
        ("received_at", _TS, True),
        ("customer_id", _STR, False),
        ("cio_id", _STR, False),
        ("delivery_id", _STR, False),
        ("campaign_id", _INT, False),
        ("action_id", _INT, False),
        ("broadcast_id", _INT, False),
        ("newsletter_id", _INT, False),
        ("content_id", _INT, False),
        ("transactional_message_id", _INT, False),
        ("trigger_event_id", _STR, False),
        ("link_url", _STR, False),
        ("reason", _STR, False),
    ],
}

# The column each dataset is deduplicated on (latest row per key wins) and the column that dates a row.
DATASET_KEYS: dict[str, str] = {
    "people": "customer_id",
    "deliveries": "delivery_id",
    "metrics": "event_id",
    "events": "event_id",
    "webhook_events": "event_id",
}
DATASET_TIME_COLUMN: dict[str, str] = {
    "people": "updated_at",
    "deliveries": "created_at",
    "metrics": "created_at",
    "events": "timestamp",
    "webhook_events": "received_at",
}


def arrow_schema(dataset: str) -> pa.Schema:
    """The Arrow schema a landed partition of ``dataset`` carries."""
    import pyarrow as pa

    try:
        columns = DATASET_COLUMNS[dataset]
    except KeyError:
        known = ", ".join(sorted(DATASET_COLUMNS))
        raise ValueError(f"unknown dataset {dataset!r}; known datasets: {known}") from None
    types = {
        _STR: pa.string(),
        _INT: pa.int64(),
        _BOOL: pa.bool_(),
        _TS: pa.timestamp("us", tz="UTC"),
        _F64: pa.float64(),
    }
    return pa.schema([pa.field(name, types[kind], nullable=not required) for name, kind, required in columns])
