"""A thread-safe token bucket shared by every client of the same API key and host in this process.

Customer.io allows 10 App API requests per second per workspace key. Several tasks' threads in one worker must
share that budget, so limiters are looked up in a process-wide registry keyed by host and a hash of the key.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Classic token bucket: ``rate`` tokens per second, at most ``burst`` saved up.

    ``burst=1`` spaces requests evenly (the safest choice against a server-side limiter we cannot see).
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take one token (possibly going into debt) and return how long the caller must wait for it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate

    def acquire(self) -> float:
        """Block until a request may go out; return the seconds waited."""
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


_REGISTRY: dict[tuple[str, str], TokenBucket] = {}
_REGISTRY_LOCK = threading.Lock()


def key_fingerprint(api_key: str) -> str:
    """A short, non-reversible tag for an API key (safe in logs and registry keys)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:12]


def shared_limiter(host: str, api_key: str, *, rate: float = 10.0, burst: int = 1) -> TokenBucket:
    """The one limiter for (host, key) in this process; created on first use with ``rate`` and ``burst``."""
    registry_key = (host, key_fingerprint(api_key))
    with _REGISTRY_LOCK:
        bucket = _REGISTRY.get(registry_key)
        if bucket is None:
            bucket = TokenBucket(rate, burst)
            _REGISTRY[registry_key] = bucket
        return bucket
