"""Customer.io's request signature: hex HMAC-SHA256, keyed by the webhook signing key, over
``v0:{X-CIO-Timestamp}:{raw body}``, sent as ``X-CIO-Signature`` (docs.customer.io/api/webhooks, "Securely verify
requests"). Checked in constant time, then the timestamp against a tolerance so a captured request goes stale."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

DEFAULT_TOLERANCE_SECONDS = 300.0


class Verdict(StrEnum):
    OK = "ok"
    FORGED = "forged"  # no signature, or one the key did not make
    STALE = "stale"  # signed, but the timestamp is outside the tolerance
    MALFORMED = "malformed"  # the timestamp header is not a unix time


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The signature Customer.io sends for ``body`` at ``timestamp`` (tests, benchmarks)."""
    return hmac.new(key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


def verify(
    key: bytes,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> Verdict:
    """The signature first (a forger learns nothing from the clock check), compared in constant time."""
    if not signature or timestamp is None:
        return Verdict.FORGED
    if not timestamp.isascii() or not timestamp.strip().isdigit() or len(timestamp) > 12:
        return Verdict.MALFORMED
    expected = sign(key, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode("ascii", "replace")):
        return Verdict.FORGED
    if abs(now - int(timestamp)) > tolerance:
        return Verdict.STALE
    return Verdict.OK
