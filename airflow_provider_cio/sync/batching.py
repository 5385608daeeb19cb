"""Deterministic batching: the same members in the same order always give the same batches.

A destination may weigh members (Meta sends one row per email/phone value, at most 10,000 rows per request) by
exposing ``rows_for(member) -> int``; ``max_batch_size`` is then a row budget. Without a weight every member weighs 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from airflow_provider_cio.sync.destination import Member


def make_batches(
    members: Sequence[Member], max_size: int, weight: Callable[[Member], int] | None = None
) -> Iterator[list[Member]]:
    """Greedy batches of at most ``max_size`` weight (a member heavier than the budget travels alone)."""
    if max_size < 1:
        raise ValueError("max_size must be >= 1")
    if weight is None:
        for start in range(0, len(members), max_size):
            yield list(members[start : start + max_size])
        return
    batch: list[Member] = []
    load = 0
    for member in members:
        w = max(1, weight(member))
        if batch and load + w > max_size:
            yield batch
            batch, load = [], 0
        batch.append(member)
        load += w
    if batch:
        yield batch
