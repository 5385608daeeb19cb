"""Shared by operators that address one landing partition: the layout settings and the interval -> partition key."""

from __future__ import annotations

from typing import Any

from airflow_provider_cio.landing.layout import PartitionRef


def partition_for(
    context: Any, *, root: str, env: str, workspace: str, dataset: str, hourly: bool
) -> PartitionRef:
    """The partition a run writes or reads: keyed by the run's data interval start (backfills hit the same paths)."""
    start = context["data_interval_start"]
    if start is None:  # manual runs without an interval: the logical date
        start = context["logical_date"]
    return PartitionRef.for_interval(
        root=root, env=env, workspace=workspace, dataset=dataset, start=start, hourly=hourly
    )


def interval(context: Any) -> tuple[Any, Any]:
    start = context["data_interval_start"] or context["logical_date"]
    end = context["data_interval_end"] or start
    return start, end
