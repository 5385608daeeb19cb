"""Which period a run covers, and the partition that follows: the one rule every operator, the notifier and the
deadline callback share (Airflow-free).

A run covers the last whole period (UTC day, or hour for ``hourly``) that has **ended** at its reference instant:
the data interval's end, else the logical date, else (a run with no logical date) the moment it was queued for. An
asset-triggered run covers what its producers covered (the latest ``interval_end`` in their events' extra).

With Airflow 3's ``CronTriggerTimetable`` (``@daily``/``@hourly``) a run has an empty interval at its logical date,
which is when it fires: the ``@daily`` run of logical date 2026-11-02 00:00 covers 2026-11-01, as does a backfill
of 2026-11-02, ``airflow dags test <dag> 2026-11-02`` and a manual trigger for any time on 2026-11-02. A
``CronDataIntervalTimetable`` run (interval [D, D+1)) covers D. Never the period that has just begun.

A run whose ``partition_date`` param is set covers that day (or, for ``hourly``, that hour: ``YYYY-MM-DDTHH:00``)
whatever its logical date: a dry run and a real run of one day from the UI are two runs with two logical dates
(Airflow keeps a logical date unique per DAG) addressing the same partition.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.errors import CioError, ErrorClass
from airflow_provider_cio.landing.layout import PartitionRef

if TYPE_CHECKING:
    from airflow.sdk import Context


PARAM = "partition_date"


class PartitionDateInvalid(CioError, ValueError):
    """The run's ``partition_date`` param is not a day (an hour, for an hourly task): whoever triggered it acts."""

    error_class = ErrorClass.CONFIGURATION


def partition_for(
    context: Context, *, root: str, env: str, workspace: str, dataset: str, hourly: bool
) -> PartitionRef:
    """The partition a run writes or reads: keyed by the start of the period it covers."""
    start, _ = interval(context, hourly=hourly)
    return PartitionRef.for_interval(
        root=root, env=env, workspace=workspace, dataset=dataset, start=start, hourly=hourly
    )


def interval(context: Context, *, hourly: bool = False) -> tuple[Any, Any]:
    """``(start, end)`` of the period the run covers: its ``partition_date`` param, else the module's rule."""
    params = context.get("params") or {}
    requested = params.get(PARAM) if hasattr(params, "get") else None
    if requested not in (None, ""):
        return requested_period(str(requested), hourly=hourly)
    return covered_period(reference_instant(context), hourly=hourly)


def requested_period(value: str, *, hourly: bool = False) -> tuple[datetime, datetime]:
    """The UTC day ``YYYY-MM-DD`` (a daily task; a date-time names its day), or the hour starting at
    ``YYYY-MM-DDTHH[:MM[:SS]][offset]`` (an hourly task: a bare date is refused, the hour would be a guess)."""
    from datetime import UTC

    text = value.strip()
    try:
        if len(text) == 10:
            day: date | None = date.fromisoformat(text)
            moment = None
        else:
            day, moment = None, _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise PartitionDateInvalid(
            f"{PARAM} {value!r} is not a date (YYYY-MM-DD) or an hour (YYYY-MM-DDTHH:00); who must act: whoever "
            "triggered the run (trigger it again with a valid value, or empty for the logical date's period)"
        ) from None
    if hourly:
        if moment is None:
            raise PartitionDateInvalid(
                f"{PARAM} {value!r} names a day, and this task lands or builds one hour: give the hour "
                "(YYYY-MM-DDTHH:00, UTC); who must act: whoever triggered the run"
            )
        start = datetime.fromtimestamp(moment.timestamp(), tz=UTC).replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    if day is None:
        assert moment is not None
        day = datetime.fromtimestamp(moment.timestamp(), tz=UTC).date()
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def covered_period(reference: datetime, *, hourly: bool = False) -> tuple[datetime, datetime]:
    """The last whole UTC day (hour) that ended at or before ``reference``: ``[end - 1 period, end)``."""
    if reference.tzinfo is None:
        raise ValueError(f"naive reference instant {reference!r}: pass a timezone-aware datetime")
    from datetime import UTC

    # Python's datetime (not pendulum's subclass): arithmetic and isoformat behave the same for every caller
    at = datetime.fromtimestamp(reference.timestamp(), tz=UTC)
    if hourly:
        end = at.replace(minute=0, second=0, microsecond=0)
        return end - timedelta(hours=1), end
    end = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return end - timedelta(days=1), end


def reference_instant(context: Context) -> datetime:
    """What a run is measured from: producers' period end (asset-triggered), the data interval's end, the logical
    date, else the moment the run was queued for (a trigger without a logical date)."""
    triggered = _triggering_interval_end(context)
    if triggered is not None:
        return triggered
    for key in ("data_interval_end", "logical_date"):
        value = context.get(key)
        if value is not None:
            return _aware(value)
    return _aware(context["dag_run"].run_after)


def settled_at(context: Context, *, hourly: bool, settle_minutes: float) -> datetime:
    """When the covered period's data is complete enough to read: its end plus the settle delay."""
    _, end = interval(context, hourly=hourly)
    return end + timedelta(minutes=settle_minutes)


def _aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # Airflow's instants are UTC
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment  # type: ignore[no-any-return]


def _triggering_interval_end(context: Context) -> Any:
    """For an asset-triggered run: the latest ``interval_end`` the producing gates put in their events' extra."""
    events = context.get("triggering_asset_events") or {}
    return latest_interval_end(event.extra for asset_events in events.values() for event in asset_events)


def latest_interval_end(extras: Iterable[dict[str, Any] | None]) -> datetime | None:
    """The latest ``interval_end`` among Asset events' extras (``None`` when no event carries one). Also read by the
    distributed test to tell which day an asset-triggered run built."""
    # an AssetWatcher's event carries its trigger's payload under "payload" (the webhook batches' interval_end)
    ends = [datetime.fromisoformat(end) for extra in extras if (end := _interval_end(extra or {}))]
    return max(ends) if ends else None


def _interval_end(extra: dict[str, Any]) -> Any:
    payload = extra.get("payload")
    return extra.get("interval_end") or (payload.get("interval_end") if isinstance(payload, dict) else None)
