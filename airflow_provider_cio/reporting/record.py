"""After a sync: add its row to the history, redraw the audience's trend report, judge drift.

Called by ``CioAudienceSyncOperator`` after every real sync (and after a failed one whose report exists). Returns
pointers and alert texts, never data; the caller delivers the alerts (the notifier's way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from airflow_provider_cio.reporting.alerts import DriftThresholds, drift_alerts
from airflow_provider_cio.reporting.history import SyncHistory, row_from_report, settled
from airflow_provider_cio.reporting.trend import trend_html, trend_png
from airflow_provider_cio.storage.base import ObjectStore

RECORDED = ("synced",)  # a dry run, a superseded or an already synced snapshot sent nothing new


@dataclass
class Recorded:
    row: str | None = None  # the history file written
    trend_html: str | None = None
    trend_png: str | None = None
    alerts: list[str] = field(default_factory=list)  # messages, one per alert

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "trend_html": self.trend_html,
            "trend_png": self.trend_png,
            "alerts": self.alerts,
        }


def trend_paths(history: SyncHistory, audience: str) -> tuple[str, str]:
    """``{dataset}/_trend/{audience}.html|png``: beside the dataset, outside its ``dt=`` partitions."""
    base = f"{history.partition(date(2000, 1, 1)).dataset_prefix}/_trend/{audience}"
    return f"{base}.html", f"{base}.png"


def record_sync(
    store: ObjectStore,
    report: dict[str, Any],
    *,
    env: str,
    workspace: str,
    audience: str,
    covered: date,
    dag_run_id: str | None = None,
    thresholds: DriftThresholds | None = None,
    recorded_at: datetime | None = None,
    root: str = "landing",
    runbook_base: str = "docs/runbook.md",
) -> Recorded:
    """Write the row, the trend report (HTML + PNG) and return the drift alerts' messages (their runbook links
    under ``runbook_base``)."""
    if report.get("status") not in RECORDED and not report.get("rows_sent"):
        return Recorded()
    history = SyncHistory(store, env=env, workspace=workspace, root=root)
    row = row_from_report(
        report,
        env=env,
        workspace=workspace,
        audience=audience,
        covered=covered,
        dag_run_id=dag_run_id,
        recorded_at=recorded_at,
    )
    done = Recorded(row=store.url(history.append(row)))
    rows = settled(history.rows(audience=audience))
    row = next((r for r in rows if r.sync_run_id == row.sync_run_id and r.platform == row.platform), row)
    if row.status == "synced":  # judged once, against the syncs of this platform up to its period
        earlier = [r for r in rows if r.platform == row.platform and r.sync_run_id != row.sync_run_id]
        earlier = [r for r in earlier if r.dt <= row.dt]
        done.alerts = [
            alert.message(runbook_base=runbook_base) for alert in drift_alerts([*earlier, row], thresholds)
        ]
    png = trend_png(rows, audience=audience)
    html_path, png_path = trend_paths(history, audience)
    store.write_bytes(png_path, png)
    store.write_bytes(html_path, trend_html(rows, audience=audience, png=png, alerts=done.alerts).encode())
    done.trend_html, done.trend_png = store.url(html_path), store.url(png_path)
    return done
