"""What a task tells its report links: which blobs it wrote, on which connection and container (pointers, no URL
with a secret, no data). Pushed to XCom under ``XCOM_KEY``; read by the links at the end of the task and by the
API-server route when someone clicks one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Context


log = logging.getLogger(__name__)

XCOM_KEY = "cio_reports"
PUBLISHED_ATTR = "_cio_published_reports"  # the same reports, on the operator that ran (read by its links)
# the report kinds, as the task's link buttons name them
GATE_REPORT = "Gate report"
AUDIENCE_STATS = "Audience stats"
LIFT_REPORT = "Lift report"
TREND_REPORT = "Match-rate trend"
REPORT_KINDS = (GATE_REPORT, AUDIENCE_STATS, LIFT_REPORT, TREND_REPORT)


def pointer(wasb_conn_id: str, container: str, reports: Mapping[str, str]) -> dict[str, Any]:
    """``{"conn_id", "container", "reports": {kind: blob path}}``; unknown kinds are a bug, refused here."""
    unknown = sorted(set(reports) - set(REPORT_KINDS))
    if unknown:
        raise ValueError(f"unknown report kind(s) {unknown}; known: {list(REPORT_KINDS)}")
    return {"conn_id": wasb_conn_id, "container": container, "reports": dict(reports)}


def push_reports(context: Context, wasb_conn_id: str, container: str, reports: Mapping[str, str]) -> None:
    """Publish the task's reports for its links (merged with any this try published before). A failure to push is
    logged and never fails the task: the report is written, only its button would be missing."""
    ti = context.get("ti") if hasattr(context, "get") else None
    if ti is None or not reports:
        return
    task = context.get("task")
    try:
        merged = {**getattr(task, PUBLISHED_ATTR, {}), **reports}
        value = pointer(wasb_conn_id, container, merged)
        ti.xcom_push(key=XCOM_KEY, value=value)
        if task is not None:  # what the links read when the task ends, in this process (no XCom round trip)
            setattr(task, PUBLISHED_ATTR, merged)
    except Exception as exc:  # the button is a convenience; the report exists either way
        log.warning("report links not published (%s: %s)", type(exc).__name__, str(exc)[:200])


def report_path(value: Any, kind: str) -> tuple[str, str, str] | None:
    """``(conn_id, container, path)`` of ``kind`` in a pushed pointer, None when the task wrote no such report."""
    if not isinstance(value, dict):
        return None
    path = (value.get("reports") or {}).get(kind)
    conn_id, container = value.get("conn_id"), value.get("container")
    if not (isinstance(path, str) and isinstance(conn_id, str) and isinstance(container, str)):
        return None
    return conn_id, container, path
