"""``membership_refresh``: what keeping Google Customer Match memberships alive costs, in rows sent per day.

Customer Match drops a member not uploaded again within the list's membership life span (at most 540 days), so the
sync re-sends unchanged members once they were last sent ``refresh_after_days`` ago (default 540 // 3 = 180), each
member coming due somewhere between half and all of that age. This benchmark runs the real ``run_sync`` (mirror
mode, an in-memory platform that applies every request) once per simulated day for 540 days on an unchanged
audience, with the clock moved a day per run, and counts the rows each day's plan re-sends. The count is
deterministic for a given audience (it depends on customer ids, not on timing): what varies is the audience, so
each run simulates another population of ids (5 runs; quick: 2), two at a time. It is measured on N members and
scaled to 1M (the rule is per member, so the count is linear in N; the scale factor is in ``extra``).

Records (unit rows/day, lower is better): ``ours`` = the median day of the steady state (days 180-540), median,
min and max over the populations; the baselines are the two obvious ways, computed (the same for every
population): ``refresh_all_at_once`` re-uploads the whole audience on the day it comes due (its peak day is the
whole audience; its mean is N / refresh_after_days), ``full_replace_daily`` re-sends the whole audience every day.
``extra`` also holds ours' peak day (the worst population's), the mean, each population's median day, and the mirror
sync's rows for the 1% daily churn of ``sync_plan_google`` (what a normal day sends anyway), to set the refresh
cost beside it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_cio.sync.destination import Destination
from bench.common import record, run_in_child

BENCHMARK = "membership_refresh"
LIFE_SPAN_DAYS = 540
REFRESH_AFTER_DAYS = LIFE_SPAN_DAYS // 3
TARGET_N = 1_000_000
DAILY_CHURN_ROWS_1M = 10_000  # sync_plan_google: 0.5% departed + 0.5% new of 1M


class _AppliesEverything(Destination):
    """A platform that takes every batch (the cost measured here is rows planned, not a platform's speed)."""

    platform = "google"
    max_batch_size = 10_000
    refresh_after_days = REFRESH_AFTER_DAYS

    def ensure_audience(self, name: str, *, description: str = "", known_id: str | None = None) -> str:
        return "list-1"

    def open_session(self, audience_id: str, operation: Any, *, total_members: int) -> Any:
        from airflow_provider_cio.sync.destination import SessionState

        return SessionState(operation=operation, handle={})

    def send_batch(
        self, audience_id: str, session: Any, batch: Sequence[Any], *, seq: int, last: bool
    ) -> Any:
        from airflow_provider_cio.sync.destination import BatchResult

        return BatchResult(received=len(batch))

    def close_session(self, audience_id: str, session: Any) -> dict[str, Any]:
        return {}

    def describe(self, audience_id: str) -> dict[str, Any]:
        return {}


def simulate(n: int, days: int, population: int = 0) -> dict[str, Any]:
    """In a child: day 0 uploads everyone, then one unchanged-snapshot sync per day; rows re-sent per day.
    ``population`` picks the audience's ids (each population spreads its refreshes over other days)."""
    from airflow_provider_cio.storage import MemoryObjectStore
    from airflow_provider_cio.sync import Guardrails, Member, SyncRequest, SyncRuntime, run_sync

    members = [Member(f"cust-p{population}-{i:08d}", {"email": (f"{i:064x}",)}) for i in range(n)]
    store, platform = MemoryObjectStore(), _AppliesEverything()
    start = datetime(2026, 1, 1, 6, tzinfo=UTC)
    per_day: list[int] = []
    for day in range(days + 1):
        report = run_sync(
            platform,  # type: ignore[arg-type]
            store,
            SyncRequest(
                audience_name="refresh bench",
                members=members,
                mode="mirror",
                guards=Guardrails(min_size=1),
                quality_passed=True,
            ),
            runtime=SyncRuntime(
                now=lambda d=day: start + timedelta(days=d),  # type: ignore[misc]
            ),
        )
        per_day.append(report.rows_sent)
    return {"per_day": per_day}


def run(quick: bool) -> list[dict[str, Any]]:
    n = 5_000 if quick else 20_000
    populations = 2 if quick else 5
    days = LIFE_SPAN_DAYS
    scale = TARGET_N / n
    # a count, not a timing: two populations at a time (one core each)
    with ThreadPoolExecutor(max_workers=2) as pool:
        samples = list(pool.map(lambda p: run_in_child(simulate, n, days, p), range(populations)))
    steady_days, medians = [], []
    for sample in samples:
        per_day: list[int] = sample["extra"].pop("per_day")
        steady = [rows * scale for rows in per_day[REFRESH_AFTER_DAYS:]]
        steady_days.append((steady, max(per_day[1 : REFRESH_AFTER_DAYS + 1]) * scale))
        medians.append(statistics.median(steady))
    extra = {
        "measured_members": n,
        "populations": populations,
        "scale_to_1M": scale,
        "simulated_days": days,
        "refresh_after_days": REFRESH_AFTER_DAYS,
        "median_day_per_population": [round(m) for m in medians],
        "mean_rows_per_day": round(statistics.median(statistics.mean(steady) for steady, _ in steady_days)),
        "peak_rows_per_day": round(max(max(steady) for steady, _ in steady_days)),
        "first_cycle_peak_rows": round(max(first for _, first in steady_days)),
        "mirror_churn_rows_per_day": DAILY_CHURN_ROWS_1M,
        "simulation_seconds": round(statistics.median(s["seconds"] for s in samples), 1),
    }
    records = []
    variants = [
        ("ours", False, medians, extra),
        (
            "refresh_all_at_once",
            True,
            [TARGET_N / REFRESH_AFTER_DAYS] * populations,
            {"peak_rows_per_day": TARGET_N, "how": "everyone re-sent on the day they come due (computed)"},
        ),
        ("full_replace_daily", True, [float(TARGET_N)] * populations, {"how": "everyone, daily (computed)"}),
    ]
    peak = max(s["peak_rss_mb"] for s in samples)
    for name, baseline, values, more in variants:
        rec = record(
            BENCHMARK,
            "1M",
            name,
            baseline=baseline,
            unit="rows/day",
            samples=[{"seconds": 1.0, "peak_rss_mb": peak, "extra": more}],
            work=0.0,
        )
        rec.update(
            value=round(statistics.median(values), 1),
            min=round(min(values), 1),
            max=round(max(values), 1),
            runs=len(values),
        )
        records.append(rec)
    return records


if __name__ == "__main__":
    import json
    import sys

    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec))
