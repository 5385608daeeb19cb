"""A Reporting Webhook body -> rows of the ``webhook_events`` dataset, with nothing personal left in them.

Customer.io posts one event per request: ``{event_id, object_type, metric, timestamp, data}`` where ``data`` holds
``delivery_id``, ``identifiers {id, email, cio_id}`` (older events: ``customer_id``), one parent group (campaign /
action, broadcast, newsletter / content, transactional message) and, per metric, ``href`` (clicked) or
``failure_message`` (bounced, failed, dropped) (docs.customer.io/api/webhooks). A JSON array of such objects is
taken too. The email, the recipient and any message content never leave this function.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_cio.errors import CioError, ErrorClass

MAX_EVENTS_PER_REQUEST = 1000
_MAX_TEXT = 2048  # longer ids / urls are cut, never a reason to refuse a signed event
_INT_FIELDS = (
    "campaign_id",
    "action_id",
    "broadcast_id",
    "newsletter_id",
    "content_id",
    "transactional_message_id",
)
_MAX_UNIX = 253402300799  # 9999-12-31T23:59:59Z


class MalformedEvent(CioError, ValueError):
    """The body is not a Reporting Webhook event; the message names the field, never a value."""

    error_class = ErrorClass.UPSTREAM_DATA


def json_items(body: bytes, noun: str, *, batch_key: str | None = None) -> list[Any]:
    """The items of a JSON body holding one object or an array of them (or ``{batch_key: [...]}``), at least one and
    at most ``MAX_EVENTS_PER_REQUEST``; raises ``MalformedEvent`` naming the ``noun`` (event, call)."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise MalformedEvent("the body is not JSON") from None
    if batch_key is not None and isinstance(payload, dict) and isinstance(payload.get(batch_key), list):
        payload = payload[batch_key]
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise MalformedEvent(f"the body holds no {noun}")
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise MalformedEvent(f"the body holds {len(items)} {noun}s (limit {MAX_EVENTS_PER_REQUEST})")
    return items


def parse_events(body: bytes, *, received_at_us: int) -> list[dict[str, Any]]:
    """Rows in the landed schema (timestamps as UTC microseconds); raises ``MalformedEvent``."""
    items = json_items(body, "event")
    return [_row(item, index, received_at_us) for index, item in enumerate(items)]


def _row(item: Any, index: int, received_at_us: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise MalformedEvent(f"event {index} is not a JSON object")
    data = item.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MalformedEvent(f"event {index}: 'data' is not an object")
    identifiers = data.get("identifiers")
    if not isinstance(identifiers, dict):
        identifiers = {}
    row: dict[str, Any] = {
        "event_id": _requiredtext_field(item, "event_id", index),
        "object_type": _requiredtext_field(item, "object_type", index),
        "metric": _requiredtext_field(item, "metric", index),
        "timestamp": _unix_us(item.get("timestamp"), index),
        "received_at": received_at_us,
        "customer_id": text_field(identifiers.get("id")) or text_field(data.get("customer_id")),
        "cio_id": text_field(identifiers.get("cio_id")),
        "delivery_id": text_field(data.get("delivery_id")),
        "trigger_event_id": text_field(data.get("trigger_event_id")),
        "link_url": text_field(data.get("href")),
        "reason": text_field(data.get("failure_message")),
    }
    for name in _INT_FIELDS:
        row[name] = _int(data.get(name))
    return row


def _requiredtext_field(item: dict[str, Any], name: str, index: int) -> str:
    value = text_field(item.get(name))
    if not value:
        raise MalformedEvent(f"event {index}: '{name}' is missing or not a non-empty string")
    return value


def text_field(value: Any) -> str | None:
    """A string (or integer) field as bounded text; anything else, or empty, is None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value:
        return None
    # lone surrogates cannot be written to Parquet (UTF-8): replace them rather than fail the whole micro-batch
    return value[:_MAX_TEXT].encode("utf-8", "replace").decode("utf-8")


def _int(value: Any) -> int | None:
    """Ids arrive as numbers (or numeric strings); anything else is dropped, not a reason to refuse the event."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit() and len(value) < 19:
        value = int(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return None


def _unix_us(value: Any, index: int) -> int:
    if isinstance(value, str) and value.isascii() and value.strip().isdigit() and len(value) < 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise MalformedEvent(f"event {index}: 'timestamp' is missing or not a unix time")
    if not 0 <= value <= _MAX_UNIX:
        raise MalformedEvent(f"event {index}: 'timestamp' is out of range")
    return int(value * 1_000_000)
