"""The sync operator's history step: record the report, redraw the trend, deliver drift alerts.

History is a nicety next to the sync itself: a failure to write it is logged as a warning and never fails (or
retries) a sync that reached the platform.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Context


log = logging.getLogger(__name__)


def failed_report(store: Any, exc: BaseException) -> dict[str, Any] | None:
    """The report of a sync that raised after finishing its ledger (members not applied, batches refused): the
    exception's ``report`` if it carries one, else the ledger's ``done.json`` it names; None when there is none."""
    report = getattr(exc, "report", None)
    if isinstance(report, dict):
        return report
    ledger = getattr(exc, "ledger", None)
    base = store.url("")
    if not isinstance(ledger, str) or not ledger.startswith(base):
        return None
    try:
        found = json.loads(store.read_bytes(f"{ledger.removeprefix(base)}/done.json"))
    except Exception:  # no done.json: the run did not get that far
        return None
    return found if isinstance(found, dict) else None


def record_and_alert(
    operator: Any, store: Any, report: dict[str, Any], covered: date, context: Context
) -> dict[str, Any]:
    """``reporting.record_sync`` for the operator's audience, alerts sent to its ``alert_to``; pointers back."""
    from airflow_provider_cio.notifications.drift import send_drift_alerts
    from airflow_provider_cio.notifications.links import runbook_base
    from airflow_provider_cio.reporting.alerts import DriftThresholds
    from airflow_provider_cio.reporting.record import record_sync

    try:
        recorded = record_sync(
            store,
            report,
            env=operator.env,
            workspace=operator.workspace,
            audience=operator.audience,
            covered=covered,
            dag_run_id=str(context.get("run_id") or "") or None,
            thresholds=DriftThresholds(**getattr(operator, "drift", {})),
            runbook_base=runbook_base(),
        )
    except Exception as exc:
        log.warning(
            "%s %s: the sync history was not updated (%s: %s); the sync itself is unaffected",
            operator.platform,
            operator.audience,
            type(exc).__name__,
            str(exc)[:200],
        )
        return {"error": type(exc).__name__}
    if recorded.trend_html:
        log.info("%s %s: trend report %s", operator.platform, operator.audience, recorded.trend_html)
        from airflow_provider_cio.links.pointers import TREND_REPORT, push_reports

        base, conn_id = store.url(""), getattr(operator, "wasb_conn_id", None)
        if conn_id and recorded.trend_html.startswith(base):
            trend = recorded.trend_html.removeprefix(base)
            push_reports(context, conn_id, operator.container, {TREND_REPORT: trend})
    send_drift_alerts(recorded.alerts, context, getattr(operator, "alert_to", ()))
    return recorded.to_dict()
