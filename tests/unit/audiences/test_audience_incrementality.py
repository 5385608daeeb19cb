"""Lift statistics against reference computations written out here, outcome measurement, and the Blob report."""

from __future__ import annotations

import json
import math
import statistics
from datetime import date

import pyarrow as pa
import pytest
from audience_tables import ago
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from airflow_provider_cio.audiences import GroupOutcome, lift, measure_outcomes, write_incrementality_report
from airflow_provider_cio.storage import MemoryObjectStore


def test_conversion_lift_matches_hand_computation() -> None:
    treatment = GroupOutcome(users=10_000, conversions=600, revenue_mean=0.0, revenue_var=0.0)
    holdout = GroupOutcome(users=5_000, conversions=250, revenue_mean=0.0, revenue_var=0.0)
    result = lift(treatment, holdout)
    p1, p2 = 0.06, 0.05
    se = math.sqrt(p1 * (1 - p1) / 10_000 + p2 * (1 - p2) / 5_000)  # 0.0038600...
    assert result.conversion_lift.estimate == pytest.approx(0.01)
    assert result.conversion_lift.low == pytest.approx(0.01 - 1.959963985 * se)
    assert result.conversion_lift.high == pytest.approx(0.01 + 1.959963985 * se)
    assert result.conversion_relative_lift == pytest.approx(0.2)
    pooled = 850 / 15_000
    z = 0.01 / math.sqrt(pooled * (1 - pooled) * (1 / 10_000 + 1 / 5_000))
    assert result.conversion_z == pytest.approx(z)
    assert z == pytest.approx(2.4971, abs=1e-3)  # by hand: 0.01 / sqrt(0.0566667 * 0.9433333 * 0.0003)
    assert result.conversion_p_value == pytest.approx(2 * (1 - scipy_stats.norm.cdf(z)))
    assert result.conversion_p_value == pytest.approx(0.01252, abs=2e-4)


def test_revenue_lift_matches_welch_reference() -> None:
    a = [0.0] * 30 + [12.5, 40.0, 80.0, 5.0, 19.99, 0.0, 100.0, 3.0]
    b = [0.0] * 25 + [10.0, 20.0, 4.0, 7.5]
    ga = GroupOutcome(len(a), sum(1 for x in a if x > 0), statistics.fmean(a), statistics.variance(a))
    gb = GroupOutcome(len(b), sum(1 for x in b if x > 0), statistics.fmean(b), statistics.variance(b))
    result = lift(ga, gb)
    reference = scipy_stats.ttest_ind(a, b, equal_var=False)
    assert result.revenue_t == pytest.approx(reference.statistic)
    assert result.revenue_p_value == pytest.approx(reference.pvalue)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    assert result.revenue_df == pytest.approx(df)
    half = scipy_stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    diff = statistics.fmean(a) - statistics.fmean(b)
    assert (result.revenue_lift.low, result.revenue_lift.high) == pytest.approx((diff - half, diff + half))
    assert result.revenue_relative_lift == pytest.approx(diff / statistics.fmean(b))


def test_empty_group_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 users"):
        lift(GroupOutcome(10, 1, 0, 0), GroupOutcome(0, 0, 0, 0))


def test_measure_outcomes_counts_converters_and_revenue_per_user() -> None:
    population = pa.table(
        {
            "customer_id": ["t1", "t2", "t3", "t4", "h1", "h2", "h3"],
            "in_holdout": [False, False, False, False, True, True, True],
        }
    )
    orders = pa.table(
        {
            "customer_id": ["t1", "t1", "t2", "h1", "t3", "zz"],
            "amount": [10.0, 30.0, 20.0, 9.0, 500.0, 99.0],
            "ordered_at": pa.array(
                [ago(days=3), ago(days=2), ago(days=1), ago(days=1), ago(days=30), ago(days=1)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    treatment, holdout = measure_outcomes(population, orders, start=ago(days=7), end=ago(days=0))
    assert (treatment.users, treatment.conversions) == (4, 2)  # t3's order is outside the window
    assert treatment.revenue_mean == pytest.approx(60 / 4)
    assert treatment.revenue_var == pytest.approx(statistics.variance([40.0, 20.0, 0.0, 0.0]))
    assert (holdout.users, holdout.conversions) == (3, 1)
    assert holdout.revenue_mean == pytest.approx(3.0)


def test_report_is_written_to_blob_self_contained() -> None:
    store = MemoryObjectStore()
    result = lift(GroupOutcome(1000, 80, 12.0, 900.0), GroupOutcome(200, 10, 8.0, 700.0))
    paths = write_incrementality_report(
        store,
        result,
        env="prod",
        workspace="ws1",
        program="cart_recovery",
        dt=date(2026, 5, 31),
        window=(ago(days=28), ago(days=0)),
    )
    assert paths.prefix == "reports/prod/ws1/incrementality/cart_recovery/dt=2026-05-31"
    assert store.read_bytes(paths.chart).startswith(b"\x89PNG")
    page = store.read_bytes(paths.html).decode()
    assert (
        "data:image/png;base64," in page
        and "<script" not in page
        and "http" not in page.replace("http-equiv", "")
    )
    assert "+3.000 pp" in page  # 8% vs 5%
    summary = json.loads(store.read_bytes(paths.summary))
    assert summary["conversion_lift"]["estimate"] == pytest.approx(0.03)
    assert summary["treatment"]["rate"] == pytest.approx(0.08)


_ORDER_TYPES = {
    "int64": (pa.int64(), "number"),
    "float64": (pa.float64(), "number"),
    "decimal": (pa.decimal128(12, 2), "number"),
    "string": (pa.string(), "string"),
    "bool": (pa.bool_(), "bool"),
    "timestamp_utc": (pa.timestamp("us", tz="UTC"), "timestamp"),
    "timestamp_naive": (pa.timestamp("ms"), "timestamp"),
    "date": (pa.date32(), "date"),
}


@given(
    amount=st.sampled_from(sorted(_ORDER_TYPES)),
    ordered_at=st.sampled_from(sorted(_ORDER_TYPES)),
    customer_id=st.sampled_from(sorted(_ORDER_TYPES)),
)
@settings(max_examples=60, deadline=None)
def test_orders_of_any_column_types_are_measured_or_refused_naming_the_column(
    amount: str, ordered_at: str, customer_id: str
) -> None:
    """The outcomes read orders with the audiences' type rule: a column of another family fails naming it (and the
    families), before any outcome is computed; a date stands in for a timestamp."""
    from airflow_provider_cio.audiences import AudienceInputError

    population = pa.table({"customer_id": ["1", "2", "3"], "in_holdout": [False, False, True]})
    when = ago(days=1)
    values = {
        "number": [10, 20],
        "string": ["10", "20"],
        "bool": [True, False],
        "timestamp": [when, when],
        "date": [when.date(), when.date()],
    }

    def column(kind: str) -> pa.Array:
        arrow_type, family = _ORDER_TYPES[kind]
        return pa.array(values[family], type=arrow_type)

    orders = pa.table(
        {"customer_id": column(customer_id), "amount": column(amount), "ordered_at": column(ordered_at)}
    )
    wrong = [
        (name, _ORDER_TYPES[kind][1], want)
        for name, kind, want in (
            ("customer_id", customer_id, "string"),
            ("amount", amount, "number"),
            ("ordered_at", ordered_at, "timestamp"),
        )
        if _ORDER_TYPES[kind][1] != want and {_ORDER_TYPES[kind][1], want} != {"date", "timestamp"}
    ]
    if not wrong:
        treatment, holdout = measure_outcomes(population, orders, start=ago(days=7), end=ago(days=0))
        assert treatment.users + holdout.users == 3
        return
    with pytest.raises(AudienceInputError) as raised:
        measure_outcomes(population, orders, start=ago(days=7), end=ago(days=0))
    message = str(raised.value)
    assert raised.value.error_class == "upstream_data"
    assert any(f"'{name}' is {got}, expected {want}" in message for name, got, want in wrong)
