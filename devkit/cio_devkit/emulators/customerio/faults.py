"""Faults the Customer.io emulator injects on demand, so tests and drills see the failures production sees.

Each fault is armed for a number of occurrences and consumed as requests arrive. Kinds:

- ``rate_limit``: answer 429 with ``{"errors":[...]}`` and ``Retry-After: <retry_after>`` (omitted when null)
- ``server_error``: answer ``status`` (500/502/503/504)
- ``slow``: wait ``delay`` seconds before answering (drives client timeouts)
- ``expire_url``: hand out download URLs that are already expired
- ``truncate_download``: announce the full Content-Length, send ``fraction`` of the bytes, close the connection
- ``malformed_rows``: the next export's CSV gets ``rows`` rows with the wrong number of columns
- ``export_failed``: the next export ends in status ``failed``
- ``drop_column``: the next ``count`` exports' CSVs lack ``column`` (schema drift upstream)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = (
    "rate_limit",
    "server_error",
    "slow",
    "expire_url",
    "truncate_download",
    "malformed_rows",
    "export_failed",
    "drop_column",
)
# Faults that hit API requests (matched by path prefix); the others are consumed at their own moment.
REQUEST_FAULTS = ("rate_limit", "server_error", "slow")


@dataclass
class Fault:
    kind: str
    count: int = 1
    path_prefix: str = "/v1/"
    params: dict[str, Any] = field(default_factory=dict)


class FaultInjector:
    """Thread-safe queue of armed faults, shared by the emulator's handler threads."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(self, kind: str, count: int = 1, *, path_prefix: str = "/v1/", **params: Any) -> None:
        """Arm ``count`` occurrences of ``kind`` (see the module docstring for kinds and parameters)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(Fault(kind, int(count), path_prefix, dict(params)))

    # convenience spellings for tests
    def rate_limit_storm(
        self, count: int, *, retry_after: float | None = 1, path_prefix: str = "/v1/"
    ) -> None:
        self.inject("rate_limit", count, path_prefix=path_prefix, retry_after=retry_after)

    def server_errors(self, count: int, *, status: int = 503, path_prefix: str = "/v1/") -> None:
        self.inject("server_error", count, path_prefix=path_prefix, status=status)

    def slow(self, count: int, *, delay: float, path_prefix: str = "/v1/") -> None:
        self.inject("slow", count, path_prefix=path_prefix, delay=delay)

    def expire_urls(self, count: int = 1) -> None:
        self.inject("expire_url", count)

    def truncate_downloads(self, count: int = 1, *, fraction: float = 0.5) -> None:
        self.inject("truncate_download", count, fraction=fraction)

    def malformed_rows(self, rows: int) -> None:
        self.inject("malformed_rows", 1, rows=rows)

    def drop_column(self, column: str, count: int = 1) -> None:
        self.inject("drop_column", count, column=column)

    def fail_exports(self, count: int = 1) -> None:
        self.inject("export_failed", count)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"kind": f.kind, "count": f.count, **f.params} for f in self._faults]

    def take(self, kinds: tuple[str, ...], path: str | None = None) -> Fault | None:
        """Consume one occurrence of the first armed fault of ``kinds`` matching ``path``; None if none."""
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds:
                    continue
                if path is not None and not path.startswith(fault.path_prefix):
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return Fault(fault.kind, 1, fault.path_prefix, dict(fault.params))
        return None
