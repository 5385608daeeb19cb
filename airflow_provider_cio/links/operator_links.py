"""Operator links to a task's reports ("Gate report", "Audience stats", "Lift report", "Match-rate trend").

Airflow 3 computes a link once, when the task ends (in the worker), and stores the result in XCom for the UI. A SAS
URL computed then would sit in the metadata database and expire before anyone clicked it (or live for days). So the
stored link is our API-server route's URL, which holds no secret: on click, it checks the user may read this run's
task instances, then mints a read-only SAS valid for minutes and redirects to it (``links.route``).
"""

from __future__ import annotations

import urllib.parse
from typing import Any, ClassVar

from airflow.sdk import BaseOperatorLink

from airflow_provider_cio.links.pointers import (
    AUDIENCE_STATS,
    GATE_REPORT,
    LIFT_REPORT,
    PUBLISHED_ATTR,
    TREND_REPORT,
)

ROUTE_PREFIX = "/cio"  # where the plugin mounts the route on the API server (links.plugin)


def route_url(base_url: str, dag_id: str, run_id: str, task_id: str, map_index: int, kind: str) -> str:
    """``{base}/cio/reports/{dag}/{run}/{task}/{kind}?map_index=N``, every part quoted (run ids hold ``:`` and
    ``+``)."""
    parts = "/".join(urllib.parse.quote(str(part), safe="") for part in (dag_id, run_id, task_id, kind))
    return f"{base_url.rstrip('/')}{ROUTE_PREFIX}/reports/{parts}?map_index={int(map_index)}"


def api_base_url() -> str:
    """The API server's public URL (``[api] base_url``); empty: a root-relative link, fine for the UI's origin."""
    from airflow.sdk.configuration import conf

    return str(conf.get("api", "base_url", fallback="") or "").rstrip("/")


class CioReportLink(BaseOperatorLink):
    """A button on the task for one report kind; empty (disabled) when the task wrote no such report."""

    name: ClassVar[str] = ""  # type: ignore[misc]

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Called once as the task ends, in its own process: the operator still holds what it published (reading
        the XCom back would log a "not found" error in every task that wrote no report)."""
        if self.name not in getattr(operator, PUBLISHED_ATTR, {}):
            return ""
        return route_url(
            api_base_url(),
            ti_key.dag_id,
            ti_key.run_id,
            ti_key.task_id,
            getattr(ti_key, "map_index", -1),
            self.name,
        )


class GateReportLink(CioReportLink):
    name = GATE_REPORT


class AudienceStatsLink(CioReportLink):
    name = AUDIENCE_STATS


class LiftReportLink(CioReportLink):
    name = LIFT_REPORT


class TrendReportLink(CioReportLink):
    name = TREND_REPORT
