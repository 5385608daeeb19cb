"""Shared by operators that address one landing partition: the layout settings and the interval -> partition key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from airflow_provider_cio.landing.layout import PartitionRef


def partition_for(
    context: Any, *, root: str, env: str, workspace: str, dataset: str, hourly: bool
) -> PartitionRef:
    """The partition a run writes or reads: keyed by the run's data interval start (backfills hit the same paths)."""
    start, _ = interval(context, hourly=hourly)
    return PartitionRef.for_interval(
        root=root, env=env, workspace=workspace, dataset=dataset, start=start, hourly=hourly
    )


def interval(context: Any, *, hourly: bool = False) -> tuple[Any, Any]:
    """The run's data interval. A manual run (``dags test``, a UI trigger) has an empty interval: it then covers
    the partition its logical date falls in (that day, or that hour), like the scheduled run would."""
    from datetime import timedelta

    start = context.get("data_interval_start") or context.get("logical_date")
    end = context.get("data_interval_end") or start
    triggered = _triggering_interval_end(context)
    if triggered is not None and (start is None or end <= start):
        return triggered - (timedelta(hours=1) if hourly else timedelta(days=1)), triggered
    if start is None:
        start = end = context["dag_run"].run_after
    if end <= start:
        if hourly:
            start = start.replace(minute=0, second=0, microsecond=0)
            end = start + timedelta(hours=1)
        else:
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
            end = start + timedelta(days=1)
    return start, end


def _triggering_interval_end(context: Any) -> Any:
    """For an asset-triggered run: the latest ``interval_end`` the producing gates put in their events' extra."""
    events = context.get("triggering_asset_events") or {}
    return latest_interval_end(event.extra for asset_events in events.values() for event in asset_events)


def latest_interval_end(extras: Iterable[dict[str, Any] | None]) -> datetime | None:
    """The latest ``interval_end`` among Asset events' extras (``None`` when no event carries one). Also read by the
    distributed test to tell which day an asset-triggered run built."""
    ends = [datetime.fromisoformat(end) for extra in extras if (end := (extra or {}).get("interval_end"))]
    return max(ends) if ends else None
