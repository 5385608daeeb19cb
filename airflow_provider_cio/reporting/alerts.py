"""Match-rate and reach drift: the latest sync against the median of the ones before it.

A match rate falling by several points usually means our identifiers got worse (a normalization change, a source
losing emails or phones, consent missing), not the platform: the audience's owner acts. Reach (the platform's own
size estimate) falling while the snapshot did not means the platform dropped members (lapsed life span, a review).
The thresholds are settings; figures that lag (Meta's counts, Google Ads sizes) are compared only where present.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_cio.reporting.history import HistoryRow

WHO_ACTS = {
    "match_rate": "the audience's owner (identifiers and consent feed the match rate)",
    "reach": "the audience's owner, with the ad platform's account owner (lapsed members, a policy review)",
}


@dataclass(frozen=True)
class DriftThresholds:
    """``match_rate_drop_points``: percentage points below the baseline that alert; ``reach_drop_share``: the share
    of the baseline's reach that may be lost; ``baseline_runs``: how many earlier syncs make the baseline (median);
    ``min_baseline_runs``: fewer earlier syncs with a figure than this, and nothing is judged."""

    match_rate_drop_points: float = 10.0
    reach_drop_share: float = 0.2
    baseline_runs: int = 7
    min_baseline_runs: int = 1


@dataclass(frozen=True)
class DriftAlert:
    kind: str  # match_rate | reach
    audience: str
    platform: str
    destination: str
    current: float
    baseline: float
    threshold: str
    runs: int  # earlier syncs in the baseline
    covered: str

    def message(self, *, runbook: str | None = None, runbook_base: str = "docs/runbook.md") -> str:
        """The alert's text; ``runbook`` defaults to the drift section of ``runbook_base`` (the operator passes the
        configured docs URL: this core module reads no Airflow setting)."""
        if runbook is None:
            runbook = f"{runbook_base}#match-rate-and-reach-drift"
        if self.kind == "match_rate":
            what, current, baseline = "match rate", f"{self.current:.1f}%", f"{self.baseline:.1f}%"
        else:
            what, current, baseline = (
                "reach (platform size estimate)",
                f"{self.current:,.0f}",
                f"{self.baseline:,.0f}",
            )
        return "\n".join(
            [
                f"[DRIFT] {self.audience} on {self.platform}: {what} {current}, "
                f"median of the {self.runs} sync(s) before {baseline} ({self.threshold})",
                f"destination: {self.destination}; period {self.covered}",
                f"who acts: {WHO_ACTS[self.kind]}",
                f"runbook: {runbook}",
            ]
        )


def _figure(row: HistoryRow, kind: str) -> float | None:
    if kind == "match_rate":
        return row.match_rate
    return float(row.reach) if row.reach is not None else None


def drift_alerts(
    history: Sequence[HistoryRow], thresholds: DriftThresholds | None = None
) -> list[DriftAlert]:
    """Alerts for the latest row of ``history`` (one audience on one platform, oldest first)."""
    limits = thresholds or DriftThresholds()
    synced = [row for row in history if row.status == "synced"]
    if not synced:
        return []
    latest = synced[-1]
    earlier = synced[:-1]
    alerts = []
    for kind in ("match_rate", "reach"):
        current = _figure(latest, kind)
        values = [v for v in (_figure(row, kind) for row in earlier) if v is not None][
            -limits.baseline_runs :
        ]
        if current is None or len(values) < max(1, limits.min_baseline_runs):
            continue
        baseline = statistics.median(values)
        if kind == "match_rate" and current < baseline - limits.match_rate_drop_points:
            threshold = f"alert below {limits.match_rate_drop_points:g} points under the baseline"
        elif kind == "reach" and baseline > 0 and current < baseline * (1 - limits.reach_drop_share):
            threshold = f"alert past a {limits.reach_drop_share:.0%} drop"
        else:
            continue
        alerts.append(
            DriftAlert(
                kind=kind,
                audience=latest.audience,
                platform=latest.platform,
                destination=latest.destination,
                current=current,
                baseline=baseline,
                threshold=threshold,
                runs=len(values),
                covered=latest.dt.isoformat(),
            )
        )
    return alerts
