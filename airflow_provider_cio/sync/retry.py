"""Bounded retries with backoff that honour the platform's own hint (``PlatformError.retry_after``).

Configuration errors fail at once: retrying an expired token only delays the page to the person who can fix it.
A hint longer than ``max_wait`` is not slept through in a worker slot: the error propagates, the task retries
later, and the ledger makes that retry resume where this attempt stopped. ``StillProcessing`` is not retried here
at all: the operator defers and looks again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from airflow_provider_cio.sync.errors import PlatformError, StillProcessing

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 120.0
    max_wait: float = 900.0  # longest platform hint we sleep through inside one task attempt

    def backoff(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))


class RetryCounter:
    """Counts attempts and retries across one run (for the report)."""

    def __init__(self) -> None:
        self.attempts = 0
        self.retries = 0
        self.slept = 0.0


def call_with_retry(
    what: str,
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    counter: RetryCounter | None = None,
) -> T:
    """Call ``fn``; retry only ``PlatformError`` (anything else, including ConfigurationError, propagates)."""
    attempt = 0
    while True:
        attempt += 1
        if counter is not None:
            counter.attempts += 1
        try:
            return fn()
        except StillProcessing:
            raise  # nothing failed: the caller waits (a deferral), this worker slot does not
        except PlatformError as exc:
            if attempt >= policy.max_attempts:
                log.error("%s failed after %s attempts: %s", what, attempt, exc)
                raise
            delay = exc.retry_after if exc.retry_after is not None else policy.backoff(attempt)
            if delay > policy.max_wait:
                log.error(
                    "%s: platform asks to wait %.0fs (> max_wait %.0fs); giving up this attempt",
                    what,
                    delay,
                    policy.max_wait,
                )
                raise
            log.warning("%s: %s; retry %s/%s in %.1fs", what, exc, attempt, policy.max_attempts - 1, delay)
            if counter is not None:
                counter.retries += 1
                counter.slept += delay
            sleep(delay)
