"""``CioSyncGuardCheckOperator``: the sync's plan, dry, to learn before the sync whether a guard would block it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


RECENT_SNAPSHOTS = 7  # sizes of the last N snapshots shown in an approval request


class CioSyncGuardCheckOperator(CioAudienceSyncOperator):
    """Computes the sync's plan exactly as the sync will (same snapshot, state, guards and run overrides), sends
    nothing, and returns the PII-free ``GuardFigures`` (``sync.approval``) for the approval step: the guards that
    would block, sizes, adds/removes, shrink, the last snapshots' sizes and a link to the gate report. Nothing blocks:
    an empty ``blocked`` and the approval step skips itself. Takes the sync operator's arguments.
    """

    ui_color = "#fdebd0"

    def __init__(self, *, gate_task_id: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate_task_id = gate_task_id  # the snapshot's gate: the request links to its report

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_cio.operators._run_overrides import flag

        self._apply_run_overrides(context)  # outside the run's audience subset: skipped, like its sync
        if flag(self.plan_only):
            self.log.info("%s %s: dry run, nothing to approve", self.platform, self.audience)
            return {}
        figures = self._figures(context)
        if figures.needs_approval:
            self.log.warning(
                "%s %s: guard(s) %s would block this sync: asking on-call (Required Actions)",
                self.platform,
                self.audience,
                ", ".join(sorted(figures.blocked)),
            )
        else:
            self.log.info("%s %s: no guard would block this sync", self.platform, self.audience)
        return figures.to_dict()

    def _figures(self, context: Context) -> Any:
        from airflow_provider_cio.sync import run_sync
        from airflow_provider_cio.sync.approval import guard_figures

        store, ref, name, (_, end) = self._snapshot_target(context)
        # the sync's own request, planned dry: builds the client, makes no platform call
        report = run_sync(self._destination(), store, self._sync_request(store, ref, name, end, dry_run=True))
        return guard_figures(
            report.to_dict(),
            audience=self.audience,
            recent_sizes=recent_sizes(store, ref, RECENT_SNAPSHOTS),
            gate_report=gate_report_link(context, self.gate_task_id) if self.gate_task_id else "",
        )


def recent_sizes(store: Any, ref: Any, n: int) -> dict[str, int]:
    """Members of the last ``n`` committed snapshots up to ``ref`` (same granularity), oldest first, from their
    manifests (no data read); a partition whose manifest cannot be read is left out."""
    from airflow_provider_cio.landing.reader import list_partitions, read_manifest

    def key(other: Any) -> tuple[Any, int]:
        return (other.dt, -1 if other.hr is None else other.hr)

    refs = [
        other
        for other in list_partitions(store, ref.root, ref.env, ref.workspace, ref.dataset)
        if (other.hr is None) == (ref.hr is None) and key(other) <= key(ref)
    ][-n:]
    sizes: dict[str, int] = {}
    for other in refs:
        try:
            sizes[other.label.split(" ", 1)[-1]] = int(read_manifest(store, other).rows)
        except Exception:  # noqa: BLE001 (a broken neighbour only drops out of the figures)
            continue
    return sizes


def gate_report_link(context: Context, gate_task_id: str) -> str:
    """Where on-call opens the snapshot's gate report: the gate task's report link (a route that mints a short-lived
    read-only URL on click), else the gate task's page in the UI (its log has the report's location)."""
    import urllib.parse

    ti = context["ti"]
    try:
        from airflow_provider_cio.links.operator_links import api_base_url, route_url
        from airflow_provider_cio.links.pointers import GATE_REPORT
    except ImportError:
        from airflow.configuration import conf

        base = str(conf.get("api", "base_url", fallback="") or "").rstrip("/")
        run = urllib.parse.quote(ti.run_id, safe="")
        return f"{base}/dags/{ti.dag_id}/runs/{run}/tasks/{gate_task_id}"
    return route_url(api_base_url(), ti.dag_id, ti.run_id, gate_task_id, -1, GATE_REPORT)
