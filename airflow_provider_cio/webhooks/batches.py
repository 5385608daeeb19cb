"""Which micro-batches have landed: the manifests of the ``webhook_events`` hour partitions (Airflow-free).

A micro-batch is a new generation of an hour partition. The event-driven path watches the partitions of the
current and the previous hour (a batch flushed just after the hour turned still commits the hour it was received
in), two small reads per poll, and compares their generations with the ones it has already reported.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.storage.base import ObjectStore

DATASET = "webhook_events"


def batch_marks(
    store: ObjectStore, *, root: str, env: str, workspace: str, now: datetime, hours: int = 2
) -> dict[str, dict[str, Any]]:
    """``label -> {generation, produced_at, rows, interval_end}`` for the committed hour partitions of the last
    ``hours`` hours (the current one included); an hour with no manifest yet is absent."""
    from airflow_provider_cio.landing.reader import PartitionNotFound, read_manifest

    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    marks: dict[str, dict[str, Any]] = {}
    for back in range(hours):
        start = hour - timedelta(hours=back)
        ref = PartitionRef(root, env, workspace, DATASET, start.date(), start.hour)
        try:
            manifest = read_manifest(store, ref)
        except PartitionNotFound:
            continue
        marks[ref.label] = {
            "generation": manifest.generation,
            "produced_at": manifest.produced_at,
            "rows": manifest.rows,
            "interval_end": (start + timedelta(hours=1)).isoformat(),
        }
    return marks


def new_batches(marks: dict[str, dict[str, Any]], seen: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The marks whose generation differs from the one ``seen`` holds for that partition."""
    return {label: mark for label, mark in marks.items() if seen.get(label) != mark["generation"]}


def batch_event(batches: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a trigger reports (an Asset event's extra): the newest batch's hour as ``interval_end``, so the run
    covers the hour partition in progress (operators/_partition.py), and every new batch, without any row."""
    newest = max(batches.values(), key=lambda mark: mark["interval_end"])
    return {
        "interval_end": newest["interval_end"],
        "produced_at": max(mark["produced_at"] for mark in batches.values()),
        "batches": {label: mark["generation"] for label, mark in sorted(batches.items())},
        "rows": sum(int(mark["rows"]) for mark in batches.values()),
    }
