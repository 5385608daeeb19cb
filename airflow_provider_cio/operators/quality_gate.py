"""``CioQualityGateOperator``: validate one landing partition against its data contract; block on critical failures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.operators._landing_partition import LandingPartitionOperator
from airflow_provider_cio.operators._partition import interval

if TYPE_CHECKING:
    from airflow.sdk import Context


class CioQualityGateOperator(LandingPartitionOperator):
    """Runs the contract's checks on the partition of this run's data interval.

    ``root="audiences", dataset=<audience>, contract="audience_snapshot"`` gates an audience snapshot instead.

    Writes ``_quality/result.json`` and ``_quality/report.html`` next to the partition, returns a small PII-free
    summary to XCom, and on any critical failure raises ``QualityGateFailed`` whose message is the on-call summary:
    downstream audience and sync tasks then do not run. The partition's place (``dataset``, ``workspace``, ``env``,
    ``root``, ``container``, ``wasb_conn_id``, ``hourly``) is ``LandingPartitionOperator``'s.
    """

    ui_color = "#f5e6c8"

    @property
    def operator_extra_links(self) -> tuple[Any, ...]:  # type: ignore[override]
        """ "Gate report" on every gate; "Audience stats" too on an audience snapshot's gate."""
        from airflow_provider_cio.links.operator_links import AudienceStatsLink, GateReportLink

        if self.root == "audiences":
            return (GateReportLink(), AudienceStatsLink())
        return (GateReportLink(),)

    def __init__(
        self,
        *,
        trailing_n: int = 7,
        contract_paths: Sequence[str] = (),
        contract: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.trailing_n = trailing_n
        self.contract_paths = list(contract_paths)
        self.contract = contract

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_cio.operators._failfast import fail_fast

        with fail_fast():
            return self._validate(context)

    def _validate(self, context: Context) -> dict[str, Any]:
        from airflow_provider_cio.hooks.blob import object_store
        from airflow_provider_cio.quality.errors import QualityGateFailed
        from airflow_provider_cio.quality.gate import run_gate
        from airflow_provider_cio.quality.loader import load_contract

        store = object_store(self.wasb_conn_id, self.container)
        ref = self.partition(context)
        start, end = interval(context, hourly=self.hourly)
        result = run_gate(
            store,
            ref,
            contract=load_contract(self.contract, search_paths=self.contract_paths)
            if self.contract
            else None,
            trailing_n=self.trailing_n,
            interval_start=start,
            interval_end=end,
            search_paths=self.contract_paths,
        )
        _publish_reports(context, self, ref)
        summary = result.to_summary()
        for warning in result.warnings:
            self.log.warning("quality warning on %s: %s", ref.label, warning.describe())
        if not result.success:
            self.log.warning(
                "%s: the generation it replaced (if any) is kept; docs/backfills.md says how to restore it",
                ref.label,
            )
            raise QualityGateFailed(result)
        self.log.info("quality gate passed for %s (%s checks)", ref.label, len(result.checks))
        _release_previous(store, ref, result.generation, self.log)
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {
                "partition": ref.prefix,
                "dt": ref.dt.isoformat(),
                "interval_end": end.isoformat(),
                "rows": result.rows,
            }
        return summary


def _publish_reports(context: Context, operator: CioQualityGateOperator, ref: Any) -> None:
    """The blobs this gate's links open: its report (written, passed or failed), and a snapshot's stats."""
    from airflow_provider_cio.links.pointers import AUDIENCE_STATS, GATE_REPORT, push_reports

    reports = {GATE_REPORT: ref.quality_report_path}
    if operator.root == "audiences":
        reports[AUDIENCE_STATS] = ref.stats_path
    push_reports(context, operator.wasb_conn_id, operator.container, reports)


def _release_previous(store: Any, ref: Any, generation: str | None, log: Any) -> None:
    """``generation`` passed its gate: the generation it replaced is no longer needed for a rollback (if a rerun
    committed meanwhile, ``release_previous`` finds another generation committed and does nothing)."""
    from airflow_provider_cio.landing.generations import release_previous

    if not generation:
        return
    try:
        released = release_previous(store, ref, generation)
    except Exception as exc:  # clean-up only: a passed gate stays passed
        log.warning(
            "%s passed, but its previous generation was not released (%s)", ref.label, type(exc).__name__
        )
        return
    if released:
        log.info("%s: released generation %s, replaced by %s", ref.label, released, generation)
