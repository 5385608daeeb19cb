"""Run an iterator one step ahead on a background thread, so producing the next item overlaps using this one.

The landing's critical path is Arrow's CSV parser: with the reader on its own thread (Arrow releases the GIL while
it parses), the caller's typing of the previous batch and the writer's encoding run beside it instead of after it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
_POLL_SECONDS = 0.1


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], depth: int = 2) -> Generator[T, None, None]:
    """Yield ``items`` in order while a thread produces up to ``depth`` ahead; re-raise its error in place.

    Closing the returned generator (or abandoning it) stops the thread at its next step.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            hand_over(_Failed(error))
            return
        hand_over(_DONE)

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
