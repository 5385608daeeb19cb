"""Customer.io Data Pipelines' Webhook destination: track/identify calls (cart adds, orders) as ``webhook_events`` rows.

Customer.io, "Webhook Destination" (docs.customer.io/cdp/destinations/connections/webhook): the destination POSTs
the source's calls to any URL, optionally batched; with a Shared Secret set, each request carries ``X-Signature``,
the hex SHA1 HMAC of the request body keyed by that secret. There is no timestamp in the signature, so a captured
request cannot go stale: replays only repeat calls, and the call's ``messageId`` (the row's ``event_id``) dedupes
them. A call lands as ``object_type`` = its type (``track``, ``identify``, ...) and ``metric`` = the track event's
name (``added_to_cart``) or the type; ``properties``, ``traits`` and ``context`` (emails, addresses, cart contents)
never leave this function.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from airflow_provider_cio.webhooks.events import MalformedEvent, json_items
from airflow_provider_cio.webhooks.events import text_field as _text

SIGNATURE_HEADER = "x-signature"


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Signature`` Data Pipelines sends for ``body`` (tests, benchmarks)."""
    return hmac.new(secret, body, hashlib.sha1).hexdigest()


def verify(secret: bytes, signature: str | None, body: bytes) -> bool:
    """Constant-time comparison of the hex SHA1 HMAC of the raw body."""
    if not signature:
        return False
    expected = sign(secret, body).encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode("ascii", "replace"))


def parse_calls(body: bytes, *, received_at_us: int) -> list[dict[str, Any]]:
    """Rows in the ``webhook_events`` schema from one call, a JSON array of calls or ``{"batch": [...]}``."""
    items = json_items(body, "call", batch_key="batch")
    return [_row(item, index, received_at_us) for index, item in enumerate(items)]


def _row(item: Any, index: int, received_at_us: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise MalformedEvent(f"call {index} is not a JSON object")
    kind = _text(item.get("type"))
    message_id = _text(item.get("messageId"))
    if not kind or not message_id:
        raise MalformedEvent(f"call {index}: 'type' or 'messageId' is missing or not a non-empty string")
    metric = _text(item.get("event")) if kind == "track" else kind
    if not metric:
        raise MalformedEvent(f"call {index}: a track call without 'event'")
    row: dict[str, Any] = {
        "event_id": message_id,
        "object_type": kind,
        "metric": metric,
        "timestamp": _iso_us(item.get("timestamp") or item.get("sentAt"), index),
        "received_at": received_at_us,
        "customer_id": _text(item.get("userId")),
        "cio_id": None,
        "delivery_id": None,
        "trigger_event_id": None,
        "link_url": None,
        "reason": None,
    }
    for name in ("campaign_id", "action_id", "broadcast_id", "newsletter_id", "content_id"):
        row[name] = None
    row["transactional_message_id"] = None
    return row


def _iso_us(value: Any, index: int) -> int:
    """ISO 8601 (the calls' own format) to UTC microseconds; a naive time is UTC."""
    if not isinstance(value, str) or not value.isascii() or len(value) > 40:
        raise MalformedEvent(f"call {index}: 'timestamp' is missing or not an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedEvent(f"call {index}: 'timestamp' is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    if not 0 <= moment.timestamp() <= 253402300799:
        raise MalformedEvent(f"call {index}: 'timestamp' is out of range")
    return int(round(moment.timestamp() * 1_000_000))
