"""Which reports the reference pipeline wrote for one day (or one hour of it): gate reports of the landed datasets
and of the audience snapshots, the snapshots' stats, each audience's match-rate trend and the latest lift report.
Only what exists is listed. Plain Python over an ``ObjectStore``: no Airflow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from airflow_provider_cio.dag_config import CioDagConfig
from airflow_provider_cio.links.pointers import AUDIENCE_STATS, GATE_REPORT, LIFT_REPORT, TREND_REPORT
from airflow_provider_cio.storage.base import ObjectStore


@dataclass(frozen=True)
class Report:
    kind: str  # one of links.pointers.REPORT_KINDS
    subject: str  # the dataset, audience or program it is about
    path: str  # the blob, inside the config's container


def day_reports(store: ObjectStore, cfg: CioDagConfig, date: str, hour: int | None = None) -> list[Report]:
    """The reports of ``date`` (``hour``: that hour's partitions, the hourly cart DAG's), in pipeline order."""
    from airflow_provider_cio import pipeline_state
    from airflow_provider_cio.landing.layout import AUDIENCES_ROOT, PartitionRef
    from airflow_provider_cio.reporting.history import SyncHistory
    from airflow_provider_cio.reporting.record import trend_paths

    candidates: list[Report] = []
    for part in pipeline_state.landed(store, cfg, date, hour):
        candidates.append(
            Report(GATE_REPORT, part.dataset, PartitionRef.parse(part.prefix).quality_report_path)
        )
    history = SyncHistory(store, env=cfg.env, workspace=cfg.workspace)
    for audience in cfg.audiences:
        ref = PartitionRef(
            AUDIENCES_ROOT, cfg.env, cfg.workspace, audience.name, dt.date.fromisoformat(date), hour
        )
        candidates.append(Report(GATE_REPORT, audience.name, ref.quality_report_path))
        if store.exists(ref.stats_path):  # built that day: its stats and its (all-time) trend
            candidates.append(Report(AUDIENCE_STATS, audience.name, ref.stats_path))
            candidates.append(Report(TREND_REPORT, audience.name, trend_paths(history, audience.name)[0]))
    found = [report for report in candidates if store.exists(report.path)]
    lift = pipeline_state.latest_lift(store, cfg) if found else {}
    if lift:  # the newest one (weekly): shown beside a day that has reports
        program = cfg.holdout.program if cfg.holdout else "paid_retention"
        found.append(Report(LIFT_REPORT, program, f"{lift['prefix']}/report.html"))
    return found
