"""The token bucket and the retry policy, on a fake clock: no test waits for real."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from airflow_provider_cio.customerio.ratelimit import TokenBucket, key_fingerprint
from airflow_provider_cio.customerio.retry import RetryPolicy, is_retryable_status, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_spaces_requests_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=1, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(21):
        bucket.acquire()
        stamps.append(clock.now)
    assert stamps[0] == 0.0
    assert stamps[-1] == pytest.approx(2.0)
    assert all(b - a == pytest.approx(0.1) for a, b in zip(stamps, stamps[1:], strict=False))


def test_bucket_burst_then_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=5, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5] == pytest.approx(0.1)
    clock.now += 10  # idle time refills only up to the burst
    assert [bucket.acquire() for _ in range(5)] == [0.0] * 5
    assert bucket.acquire() > 0


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        TokenBucket(1, burst=0)


def test_fingerprint_hides_the_key() -> None:
    tag = key_fingerprint("sk-secret")
    assert len(tag) == 12 and "secret" not in tag and tag == key_fingerprint("sk-secret")


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2024, 3, 1, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Fri, 01 Mar 2024 10:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Fri, 01 Mar 2024 09:00:00 GMT", now=now) == 0.0


def test_backoff_grows_caps_and_jitters() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delay = policy.backoff(attempt, rng)
        assert ceiling * 0.5 <= delay <= ceiling


def test_retryable_statuses() -> None:
    assert all(is_retryable_status(s) for s in (408, 429, 500, 502, 503, 504, 599))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))
