"""Bounded retry policy: exponential backoff with jitter, the server's Retry-After taking precedence."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    """408, 429 and every 5xx are transient on Customer.io's side."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``max_attempts`` calls in all, never sleeping more than ``max_total_wait`` seconds."""

    max_attempts: int = 10  # parallel land tasks share 10 req/s per workspace: bursts of 429s are normal
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total_wait: float = 120.0
    jitter: float = 0.5

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number ``attempt`` (1-based): capped exponential, shortened by up to ``jitter``."""
        delay = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        draw = (rng or random).random()
        return delay * (1.0 - self.jitter * draw)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
