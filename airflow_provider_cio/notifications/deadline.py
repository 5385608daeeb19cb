"""Freshness deadline: "the export must land before the audiences' morning sync".

``export_late`` is the ``AsyncCallback`` of ``cio_export``'s ``DeadlineAlert``. The scheduler notices the miss and
the triggerer awaits this function with the DAG's ``kwargs`` plus a small ``context`` (``dag_run`` as the REST API
shows it, ``deadline`` with its time). It must live in an importable module: one defined in the DAG file cannot be
imported by the triggerer. It formats a triage-style message (error class ``upstream_data``: the data is late, no
code or credential is wrong), logs it, and optionally POSTs it to a webhook whose URL is in an environment variable
(the URL is a secret, so it is never a DAG argument).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import urllib.request
from datetime import UTC, datetime
from typing import Any

from airflow_provider_cio.errors import ErrorClass
from airflow_provider_cio.notifications.links import runbook_base as configured_runbook
from airflow_provider_cio.notifications.triage import RUNBOOK_SECTIONS, scrub

log = logging.getLogger(__name__)

ERROR_CLASS = ErrorClass.UPSTREAM_DATA


def late_export_message(
    *,
    dag_id: str,
    run_id: str,
    partition: str,
    deadline: str,
    waiting_for: str,
    runbook_base: str | None = None,
) -> str:
    """The on-call text, in the shape of the failure triage (class, cause, what to do, runbook). The runbook is a
    link from the ``[cio] docs_base_url`` setting (``notifications.links``) unless ``runbook_base`` is given."""
    runbook = f"{runbook_base or configured_runbook()}#{RUNBOOK_SECTIONS[ERROR_CLASS]}"
    lines = [
        f"[{ERROR_CLASS.upper()}] {dag_id} missed its freshness deadline for partition {partition}",
        f"cause: export for {partition} not landed by {deadline}",
        "",
        f"{waiting_for} will run on stale data unless the export lands first. Check the run's land_* and gate_*",
        "tasks: still running (Customer.io slow: wait or raise the deadline), failed (read its own alert), or not",
        "started (scheduler or pool capacity).",
        "",
        f"runbook: {runbook}",
        f"run: {run_id}",
    ]
    return scrub("\n".join(lines))


async def export_late(
    *,
    context: dict[str, Any] | None = None,
    waiting_for: str = "cio_audiences' morning sync",
    webhook_url_env: str = "",
    timeout: float = 10.0,
    runbook_base: str | None = None,
) -> str:
    """Deadline missed: log the triage message and forward it; returns the message (stored with the callback)."""
    context = context or {}
    dag_run = context.get("dag_run") or {}
    message = late_export_message(
        dag_id=str(dag_run.get("dag_id", "cio_export")),
        run_id=str(dag_run.get("run_id", "?")),
        partition=_partition(dag_run),
        deadline=_iso((context.get("deadline") or {}).get("deadline_time")),
        waiting_for=waiting_for,
        runbook_base=runbook_base,
    )
    log.error("on-call triage:\n%s", message)
    url = os.environ.get(webhook_url_env, "") if webhook_url_env else ""
    if url:
        await asyncio.to_thread(_post, url, message, timeout)
    return message


def _partition(dag_run: dict[str, Any]) -> str:
    """The day the run lands, by the operators' rule (the run of logical date D 00:00 covers D-1; dates as the API
    renders them)."""
    from airflow_provider_cio.operators._partition import covered_period

    for key in ("data_interval_end", "logical_date", "run_after"):
        value = dag_run.get(key)
        if value:
            try:
                moment = datetime.fromisoformat(_iso(value).replace("Z", "+00:00"))
            except ValueError:
                return _iso(value)[:10]
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return covered_period(moment)[0].date().isoformat()
    return "?"


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else "?"


def _post(url: str, message: str, timeout: float) -> None:
    """Slack-style incoming webhook body; a failure to forward is logged, never raised (the log has the text)."""
    body = json.dumps({"text": message}).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except OSError as exc:
        log.warning("deadline alert not forwarded (%s); the message is in this log", type(exc).__name__)
