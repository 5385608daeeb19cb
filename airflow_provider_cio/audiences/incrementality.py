"""Incrementality: did the program move conversion and revenue, treatment vs holdout, over a window?

Conversion: difference of proportions with a 95% confidence interval (unpooled normal approximation) and a
two-sided two-proportion z-test (pooled standard error). Revenue per user (zeros included): Welch's t interval and
test (unequal variances, Welch-Satterthwaite degrees of freedom; Student t from scipy when installed, else the normal
approximation). Outcomes are measured intent-to-treat over the program's eligible population, split by the holdout
hash, so members the platforms could not match still count as treated.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.audiences.inputs import register_table

if TYPE_CHECKING:
    from airflow_provider_cio.audiences.inputs import TableSource

ORDERS_COLUMNS = ("customer_id", "amount", "ordered_at")  # what the outcomes read of the warehouse orders


@dataclass(frozen=True)
class GroupOutcome:
    """One group's outcome: users, converters, revenue per user mean and sample variance (zeros included)."""

    users: int
    conversions: int
    revenue_mean: float
    revenue_var: float

    @property
    def rate(self) -> float:
        return self.conversions / self.users if self.users else 0.0


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class LiftResult:
    """Treatment minus holdout, absolute and relative, with intervals and p-values (PII-free, JSON-able)."""

    treatment: GroupOutcome
    holdout: GroupOutcome
    confidence: float
    conversion_lift: Interval
    conversion_relative_lift: float | None
    conversion_z: float
    conversion_p_value: float
    revenue_lift: Interval
    revenue_relative_lift: float | None
    revenue_t: float
    revenue_df: float
    revenue_p_value: float
    t_distribution: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["treatment"]["rate"] = self.treatment.rate
        out["holdout"]["rate"] = self.holdout.rate
        return out


def _t_tools() -> tuple[str, Any, Any]:
    """(name, quantile(p, df), two-sided p-value(t, df)): scipy's Student t if installed, else the normal."""
    try:
        from scipy import stats
    except ImportError:  # pragma: no cover - scipy is installed here
        normal = NormalDist()
        return "normal", lambda p, df: normal.inv_cdf(p), lambda t, df: math.erfc(abs(t) / math.sqrt(2))
    return (
        "student_t",
        lambda p, df: float(stats.t.ppf(p, df)),
        lambda t, df: float(2 * stats.t.sf(abs(t), df)),
    )


def lift(treatment: GroupOutcome, holdout: GroupOutcome, *, confidence: float = 0.95) -> LiftResult:
    """Compare two groups; raises ValueError when a group is empty (no lift is measurable)."""
    if treatment.users < 2 or holdout.users < 2:
        raise ValueError(
            f"lift needs at least 2 users per group (treatment {treatment.users}, holdout {holdout.users})"
        )
    z_crit = NormalDist().inv_cdf(0.5 + confidence / 2)
    p_t, p_h = treatment.rate, holdout.rate
    diff = p_t - p_h
    se = math.sqrt(p_t * (1 - p_t) / treatment.users + p_h * (1 - p_h) / holdout.users)
    pooled = (treatment.conversions + holdout.conversions) / (treatment.users + holdout.users)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / treatment.users + 1 / holdout.users))
    z = diff / se_pooled if se_pooled > 0 else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2))

    name, t_quantile, t_p_value = _t_tools()
    va, vb = treatment.revenue_var / treatment.users, holdout.revenue_var / holdout.users
    se_rev = math.sqrt(va + vb)
    rev_diff = treatment.revenue_mean - holdout.revenue_mean
    if se_rev > 0:
        df = (va + vb) ** 2 / (va**2 / (treatment.users - 1) + vb**2 / (holdout.users - 1))
        t_stat = rev_diff / se_rev
        t_crit = t_quantile(0.5 + confidence / 2, df)
        rev_p = t_p_value(t_stat, df)
    else:
        df, t_stat, t_crit, rev_p = float(treatment.users + holdout.users - 2), 0.0, 0.0, 1.0
    return LiftResult(
        treatment=treatment,
        holdout=holdout,
        confidence=confidence,
        conversion_lift=Interval(diff, diff - z_crit * se, diff + z_crit * se),
        conversion_relative_lift=diff / p_h if p_h > 0 else None,
        conversion_z=z,
        conversion_p_value=p_value,
        revenue_lift=Interval(rev_diff, rev_diff - t_crit * se_rev, rev_diff + t_crit * se_rev),
        revenue_relative_lift=rev_diff / holdout.revenue_mean if holdout.revenue_mean > 0 else None,
        revenue_t=t_stat,
        revenue_df=df,
        revenue_p_value=rev_p,
        t_distribution=name,
    )


def measure_outcomes(
    population: TableSource,
    orders: TableSource,
    *,
    start: datetime,
    end: datetime,
) -> tuple[GroupOutcome, GroupOutcome]:
    """(treatment, holdout) outcomes over [start, end): ``population`` has customer_id and in_holdout (as written
    in a snapshot's population file); ``orders`` has customer_id, amount, ordered_at."""
    import duckdb

    from airflow_provider_cio.audiences.engines.columns import check_table, duckdb_family, expected_types
    from airflow_provider_cio.audiences.inputs import check_columns

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        register_table(con, "population", population)
        register_table(con, "orders", orders)
        check_columns(con, "population", ["customer_id", "in_holdout"], role="population")
        # the audiences' rule: declared columns of the expected families (an ordered_at stored as text is refused
        # here, naming it, instead of comparing as text in the window below)
        have = {str(r[0]): duckdb_family(str(r[1])) for r in con.execute('DESCRIBE "orders"').fetchall()}
        check_table("orders", have, ORDERS_COLUMNS, expected_types("orders"), where="warehouse")
        rows = con.execute(
            """
            WITH revenue AS (
                SELECT customer_id, sum(amount) AS revenue FROM orders
                WHERE ordered_at >= $start AND ordered_at < $end GROUP BY customer_id
            ),
            users AS (
                SELECT DISTINCT p.customer_id, p.in_holdout, coalesce(r.revenue, 0) AS revenue,
                       r.customer_id IS NOT NULL AS converted
                FROM population p LEFT JOIN revenue r ON r.customer_id = p.customer_id
            )
            SELECT in_holdout, count(*), count(*) FILTER (WHERE converted), avg(revenue),
                   coalesce(var_samp(revenue), 0)
            FROM users GROUP BY in_holdout
            """,
            {"start": start, "end": end},
        ).fetchall()
    finally:
        con.close()
    groups = {
        bool(r[0]): GroupOutcome(int(r[1]), int(r[2]), float(r[3] or 0), float(r[4] or 0)) for r in rows
    }
    empty = GroupOutcome(0, 0, 0.0, 0.0)
    return groups.get(False, empty), groups.get(True, empty)
