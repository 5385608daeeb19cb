"""Faults the emulator injects on demand, so error paths run against the real SDKs instead of patched methods.

A fault fires on the next ``times`` calls of ``method`` (the gRPC method name, e.g. ``AddOfflineUserDataJobOperations``
or ``IngestAudienceMembers``; ``"*"`` = the first call any kind applies to). Kinds:

- ``resource_exhausted``: RESOURCE_EXHAUSTED with a retry delay (Ads: QuotaErrorDetails; Data Manager: RetryInfo)
- ``concurrent_modification``: Ads DatabaseError.CONCURRENT_MODIFICATION
- ``not_allowlisted``: Ads NotAllowlistedError.CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE
- ``terms_not_accepted``: Ads CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS / Data Manager TERMS_AND_CONDITIONS_NOT_SIGNED
- ``permission_denied`` / ``unauthenticated``: bare gRPC status codes (both APIs)
- ``partial_failure``: Ads - the operations at ``indexes`` of one request fail (INVALID_SHA256_FORMAT by default,
  or ``reason``); Data Manager - the request ends PARTIAL_SUCCESS with ``len(indexes)`` records failed
- ``job_failed``: the next Ads job run ends FAILED (``reason`` = an OfflineUserDataJobFailureReason name)
- ``request_failed``: Data Manager - the request is accepted (a request id comes back), then ends FAILED when
  processed, nothing applied (``reason`` = a ProcessingErrorReason name, default
  PROCESSING_ERROR_REASON_INTERNAL_ERROR): "Records can still fail during asynchronous processing"
  (Data Manager API troubleshooting, https://developers.google.com/data-manager/api/devguides/diagnostics)
- ``slow_processing``: Data Manager - the request is processed ``delay_seconds`` after receipt instead of
  ``settings.dm_processing_seconds``
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = frozenset(
    {
        "resource_exhausted",
        "concurrent_modification",
        "not_allowlisted",
        "terms_not_accepted",
        "permission_denied",
        "unauthenticated",
        "partial_failure",
        "job_failed",
        "request_failed",
        "slow_processing",
    }
)


@dataclass
class Fault:
    """One armed fault; ``times`` counts down as it fires."""

    kind: str
    method: str = "*"
    times: int = 1
    retry_delay_seconds: float = 30.0
    indexes: tuple[int, ...] = ()
    reason: str = ""
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)}")
        self.indexes = tuple(self.indexes)


@dataclass
class FaultBook:
    """Armed faults, consumed first-armed-first by the handlers (thread-safe: gRPC serves on a pool)."""

    armed: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def arm(self, fault: Fault) -> Fault:
        with self._lock:
            self.armed.append(fault)
        return fault

    def take(self, method: str, kinds: frozenset[str] | set[str]) -> Fault | None:
        """The first armed fault of one of ``kinds`` matching ``method``, consuming one of its ``times``."""
        with self._lock:
            for fault in self.armed:
                if fault.kind in kinds and fault.method in ("*", method) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.armed.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self.armed.clear()


def load_faults(path: Path) -> list[Fault]:
    """Faults from a JSON file: a list of objects with the ``Fault`` fields (for the devstack process)."""
    raw: Any = json.loads(path.read_text())
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON list of fault objects")
    return [Fault(**item) for item in raw]
