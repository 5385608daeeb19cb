"""Data Pipelines' Webhook destination as Customer.io sends it: track calls POSTed to a URL, signed.

Written from Customer.io's own pages, never from our receiver:

- "Webhook Destination", https://docs.customer.io/cdp/destinations/connections/webhook/: with a Shared Secret set,
  each request carries ``X-Signature``, "a hex-encoded SHA1 hash generated using this shared secret and the request
  body" (an HMAC); requests can be batched.
- The calls follow Customer.io's Data Pipelines API spec ("Track" call: ``type``, ``event``, ``userId``,
  ``messageId``, ``timestamp`` ISO 8601, ``properties``), https://docs.customer.io/api/cdp/.

UNCONFIRMED (settings or left out): the destination's retry schedule and timeout are not on that page; this sender
tries ``attempts`` times, ``retry_seconds`` apart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any


def sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha1).hexdigest()


def track_call(user_id: str, event: str, *, at: datetime | None = None, **properties: Any) -> dict[str, Any]:
    """One track call, with a fresh ``messageId`` (the call's identity) and the time as ISO 8601 UTC."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "type": "track",
        "event": event,
        "userId": user_id,
        "messageId": str(uuid.uuid4()),
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "properties": properties,
    }


def post_calls(
    url: str,
    secret: bytes,
    calls: list[dict[str, Any]],
    *,
    attempts: int = 3,
    retry_seconds: float = 1.0,
    timeout: float = 10.0,
) -> int:
    """POST the calls as one request (a batch when several); the final HTTP status (0: no answer)."""
    body = json.dumps(calls[0] if len(calls) == 1 else {"batch": calls}, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign(secret, body)}
    status = 0
    for attempt in range(max(1, attempts)):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback URL)
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        if 200 <= status < 300:
            return status
        if attempt + 1 < attempts:
            time.sleep(retry_seconds)
    return status
