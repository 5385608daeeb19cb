"""One line per sync for the task log, instead of the plan dict: what changed and how big the audience is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def summary_line(platform: str, audience: str, report: Mapping[str, Any]) -> str:
    """``meta high_value: 120 added, 30 removed, 4,512 in audience (mirror)``, plus the status when it is not a
    plain sync (``dry run: nothing sent``, ``superseded``, ``already synced``) and what the platform did not apply."""
    plan = report.get("plan") or {}
    mode = plan.get("mode") or report.get("mode") or "?"
    size = plan.get("snapshot_size")
    line = (
        f"{platform} {audience}: {int(plan.get('adds', 0)):,} added, {int(plan.get('removes', 0)):,} removed, "
        f"{f'{int(size):,}' if size is not None else '?'} in audience ({mode})"
    )
    status = str(report.get("status", ""))
    if status == "dry_run":
        line += "; dry run: nothing sent"
    elif status and status != "synced":
        line += f"; {status.replace('_', ' ')}: nothing sent"
    unapplied = int(report.get("members_unapplied") or 0)
    if unapplied:
        line += f"; {unapplied:,} not applied by the platform (sent again next run)"
    return line
