"""Issue 16, defect 9: a run covers a period that has ended. Contexts are built the way Airflow 3.3 fills them, from
its own timetables: a scheduled ``@daily`` run (``CronTriggerTimetable``: empty interval at the firing time), a
backfill of the same date, ``dags test`` / a manual trigger (``infer_manual_data_interval``), a trigger without a
logical date, and an asset-triggered run. Before, the scheduled run at D 00:00 landed D (the day just begun)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.operators._partition import covered_period, interval, partition_for

MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def _timetable(cron: str) -> Any:
    from airflow.timetables.trigger import CronTriggerTimetable

    return CronTriggerTimetable(cron, timezone="UTC")


def _scheduled(cron: str, after: datetime) -> dict[str, Any]:
    """The context of the first run the scheduler creates at or after ``after`` (catchup)."""
    import pendulum
    from airflow.timetables.base import TimeRestriction

    after = pendulum.instance(after)  # the scheduler's instants are pendulum's
    info = _timetable(cron).next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=after, latest=None, catchup=True),
    )
    return {
        "logical_date": info.logical_date,
        "data_interval_start": info.data_interval.start,
        "data_interval_end": info.data_interval.end,
        "dag_run": SimpleNamespace(run_after=info.run_after),
    }


def _manual(cron: str, logical: datetime) -> dict[str, Any]:
    """``airflow dags test <dag> <logical>``, a UI trigger or a backfill run for that logical date."""
    import pendulum

    logical = pendulum.instance(logical)
    window = _timetable(cron).infer_manual_data_interval(run_after=logical)
    return {
        "logical_date": logical,
        "data_interval_start": window.start,
        "data_interval_end": window.end,
        "dag_run": SimpleNamespace(run_after=logical),
    }


def test_the_scheduled_daily_run_at_midnight_covers_the_day_that_ended() -> None:
    context = _scheduled("@daily", datetime(2026, 12, 5, 12, tzinfo=UTC))
    assert context["logical_date"] == datetime(2026, 12, 6, tzinfo=UTC)  # fires at the day's start
    assert interval(context) == (datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))
    ref = partition_for(context, root="landing", env="dev", workspace="w", dataset="people", hourly=False)
    assert ref.dt == date(2026, 12, 5) and ref.hr is None


def test_the_scheduled_hourly_run_covers_the_hour_that_ended() -> None:
    context = _scheduled("@hourly", datetime(2026, 12, 6, 9, 30, tzinfo=UTC))
    assert context["logical_date"] == datetime(2026, 12, 6, 10, tzinfo=UTC)
    ref = partition_for(context, root="landing", env="dev", workspace="w", dataset="events", hourly=True)
    assert (ref.dt, ref.hr) == (date(2026, 12, 6), 9)


@given(moment=MOMENTS, cron_hourly=st.sampled_from([("@daily", False), ("@hourly", True)]))
def test_scheduled_backfilled_and_tested_runs_of_one_logical_date_cover_one_ended_period(
    moment: datetime, cron_hourly: tuple[str, bool]
) -> None:
    cron, hourly = cron_hourly
    scheduled = _scheduled(cron, moment)
    fired_at = scheduled["dag_run"].run_after
    same_date = _manual(cron, scheduled["logical_date"])  # a backfill of that date, or `dags test` of it
    start, end = interval(scheduled, hourly=hourly)
    assert interval(same_date, hourly=hourly) == (start, end)
    assert end <= fired_at  # ended when the run fired: never the period just begun
    assert end - start == (timedelta(hours=1) if hourly else timedelta(days=1))
    assert fired_at - end < (
        timedelta(hours=1) if hourly else timedelta(days=1)
    )  # and the latest such period


@given(moment=MOMENTS, hourly=st.booleans())
def test_any_trigger_covers_the_last_period_ended_before_it(moment: datetime, hourly: bool) -> None:
    """A trigger for any time of day (or with no logical date: then the moment it is queued for)."""
    start, end = covered_period(moment, hourly=hourly)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    assert end <= moment < end + step and end - start == step
    assert interval({"logical_date": None, "dag_run": SimpleNamespace(run_after=moment)}, hourly=hourly) == (
        start,
        end,
    )


def test_an_airflow_2_style_interval_covers_that_interval() -> None:
    """``CronDataIntervalTimetable``: the run of logical date D has the interval [D, D+1) and runs after it."""
    context = {
        "logical_date": datetime(2026, 11, 1, tzinfo=UTC),
        "data_interval_start": datetime(2026, 11, 1, tzinfo=UTC),
        "data_interval_end": datetime(2026, 11, 2, tzinfo=UTC),
    }
    assert interval(context)[0] == datetime(2026, 11, 1, tzinfo=UTC)


def test_an_asset_triggered_run_covers_what_its_producers_covered() -> None:
    """No logical date; the gates' events carry the end of the period they gated (the latest wins)."""
    producer = _scheduled("@daily", datetime(2026, 11, 1, 12, tzinfo=UTC))  # covers 2026-11-01
    _, producer_end = interval(producer)
    events = {
        "people": [SimpleNamespace(extra={"interval_end": producer_end.isoformat()})],
        "events": [SimpleNamespace(extra={"interval_end": (producer_end - timedelta(days=1)).isoformat()})],
    }
    consumer = {
        "logical_date": None,
        "triggering_asset_events": events,
        "dag_run": SimpleNamespace(run_after=datetime(2026, 12, 6, 15, tzinfo=UTC)),
    }
    assert interval(consumer) == interval(producer)


def test_a_land_task_waits_deferred_for_the_settle_delay_then_lands() -> None:
    """The run fired at the period's end: its land task defers to end + settle (no worker slot held)."""
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger
    from airflow.sdk.exceptions import TaskDeferred

    from airflow_provider_cio.operators.customerio_export import CustomerIoExportOperator

    now = datetime.now(UTC)
    logical = now.replace(minute=0, second=0, microsecond=0)  # the hourly run that fired this hour
    operator = CustomerIoExportOperator(
        task_id="land_events_hourly", dataset="events", workspace="w", hourly=True, settle_minutes=90
    )
    context = _manual("@hourly", logical)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, DateTimeTrigger)
    assert trigger.serialize()[1]["moment"] == logical + timedelta(minutes=90)
    assert deferred.value.method_name == "execute_settled"


def test_a_late_or_backfilled_run_does_not_wait() -> None:
    from airflow_provider_cio.operators._settle import defer_until_settled

    past = _manual("@daily", datetime(2026, 11, 2, tzinfo=UTC))
    deferred: list[Any] = []
    operator = SimpleNamespace(
        defer=lambda **kwargs: deferred.append(kwargs), log=SimpleNamespace(info=print)
    )
    defer_until_settled(operator, past, hourly=False, settle_minutes=600)
    assert deferred == []


def test_the_deadline_alert_and_the_notifier_name_the_covered_day() -> None:
    import asyncio

    from airflow_provider_cio.notifications.deadline import export_late
    from airflow_provider_cio.notifications.notifier import CioFailureNotifier

    context = {
        "dag_run": {
            "dag_id": "cio_export",
            "run_id": "scheduled__2026-11-02T00:00:00+00:00",
            "logical_date": "2026-11-02T00:00:00Z",
            "data_interval_start": "2026-11-02T00:00:00Z",
            "data_interval_end": "2026-11-02T00:00:00Z",
        },
        "deadline": {"deadline_time": "2026-11-02T06:00:00+00:00"},
    }
    assert "for partition 2026-11-01" in asyncio.run(export_late(context=context))
    failed = {
        "ti": SimpleNamespace(dag_id="cio_export", task_id="land_people", task=SimpleNamespace(hourly=False)),
        "run_id": "scheduled__2026-11-02",
        **_manual("@daily", datetime(2026, 11, 2, tzinfo=UTC)),
    }
    assert CioFailureNotifier().build(failed).partition == "2026-11-01"
