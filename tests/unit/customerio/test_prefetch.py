"""The prefetching iterator: same items in the same order, the producer's error at its place, a clean stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from airflow_provider_cio.customerio.prefetch import prefetched


def test_items_arrive_in_order_from_another_thread() -> None:
    producers: set[str] = set()

    def numbers() -> Iterator[int]:
        for n in range(100):
            producers.add(threading.current_thread().name)
            yield n

    assert list(prefetched(numbers(), depth=3)) == list(range(100))
    assert producers == {"prefetch"}


def test_the_producers_error_is_raised_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("block 3 is bad")

    seen: list[int] = []
    with pytest.raises(ValueError, match="block 3 is bad"):
        for item in prefetched(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_closing_early_stops_the_producer() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    before = {t for t in threading.enumerate() if t.name == "prefetch"}
    stream = prefetched(endless(), depth=2)
    assert next(stream) == 0
    stream.close()
    time.sleep(0.5)
    settled = len(produced)
    time.sleep(0.3)
    assert len(produced) == settled <= 5  # bounded read-ahead, then the thread stopped
    assert {t for t in threading.enumerate() if t.name == "prefetch"} <= before
