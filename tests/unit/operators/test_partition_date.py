"""``partition_date``: a run addresses its partition independently of its (unique) logical date, so a dry run and a
real run of one day are both possible; unset, the period rule (logical date D processes D-1) is unchanged."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.errors import ErrorClass
from airflow_provider_cio.operators._partition import PartitionDateInvalid, interval, partition_for

DAGS_FOLDER = Path(__file__).resolve().parents[3] / "dags"
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


def _context(logical: datetime, partition_date: Any = None) -> Any:  # the fields of a Context the rule reads
    return {
        "logical_date": logical,
        "data_interval_end": logical,
        "params": {"partition_date": partition_date},
    }


@given(day=DAYS, logical=MOMENTS)
def test_a_day_is_processed_whatever_the_logical_date(day: date, logical: datetime) -> None:
    start, end = interval(_context(logical, day.isoformat()))
    assert start == datetime(day.year, day.month, day.day, tzinfo=UTC)
    assert end - start == timedelta(days=1)


@given(moment=MOMENTS, logical=MOMENTS)
def test_an_hour_is_processed_whatever_the_logical_date(moment: datetime, logical: datetime) -> None:
    start, end = interval(_context(logical, moment.isoformat()), hourly=True)
    assert start == moment.replace(minute=0, second=0, microsecond=0)
    assert end - start == timedelta(hours=1)


@given(logical=MOMENTS, empty=st.sampled_from([None, ""]))
def test_unset_keeps_the_period_rule(logical: datetime, empty: str | None) -> None:
    start, end = interval(_context(logical, empty))
    midnight = logical.replace(hour=0, minute=0, second=0, microsecond=0)
    assert (start, end) == (midnight - timedelta(days=1), midnight)


def test_two_runs_with_two_logical_dates_address_one_partition() -> None:
    dry = _context(datetime(2026, 11, 20, 9, 30, tzinfo=UTC), "2026-11-01")
    real = _context(datetime(2026, 11, 20, 9, 45, tzinfo=UTC), "2026-11-01")
    refs = [
        partition_for(c, root="audiences", env="dev", workspace="demo", dataset="vip", hourly=False)
        for c in (dry, real)
    ]
    assert refs[0].prefix == refs[1].prefix == "audiences/dev/demo/vip/dt=2026-11-01"


def test_an_hourly_task_refuses_a_bare_day() -> None:
    with pytest.raises(PartitionDateInvalid, match="give the hour") as caught:
        interval(_context(datetime(2026, 11, 2, tzinfo=UTC), "2026-11-01"), hourly=True)
    assert caught.value.error_class is ErrorClass.CONFIGURATION


@given(st.text(max_size=30))
def test_any_text_is_a_period_or_a_configuration_error(text: str) -> None:
    """Whatever a user types: a period of the right length, or the configuration error naming who acts."""
    for hourly, length in ((False, timedelta(days=1)), (True, timedelta(hours=1))):
        try:
            start, end = interval(_context(datetime(2026, 11, 2, tzinfo=UTC), text), hourly=hourly)
        except PartitionDateInvalid as exc:
            assert "who must act: whoever triggered" in str(exc)
            continue
        if text.strip():
            assert end - start == length and start.tzinfo is not None


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CIO_DAG_CONFIG", str(DAGS_FOLDER / "config" / "cio.yaml"))
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    return bag


@pytest.mark.parametrize(
    ("dag_id", "fmt"),
    [("cio_export", "date"), ("cio_audiences", "date"), ("cio_cart_recovery", "date-time")],
)
def test_the_trigger_forms_offer_a_typed_described_partition_date(dagbag, dag_id: str, fmt: str) -> None:  # type: ignore[no-untyped-def]
    params = copy.deepcopy(dagbag.dags[dag_id].params)
    param = params.get_param("partition_date")
    assert param.schema["type"] == ["null", "string"] and param.schema["format"] == fmt
    assert param.value is None  # off by default: the period rule
    assert "logical date" in (param.description or "")
    params["partition_date"] = "2026-11-01T10:00:00+00:00" if fmt == "date-time" else "2026-11-01"
