"""``CioAudienceSyncOperator``: send one audience snapshot to Meta or Google, safely."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.configuration import conf
from airflow.sdk import BaseOperator

from airflow_provider_cio.dag_config import Platform
from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID
from airflow_provider_cio.links.operator_links import TrendReportLink
from airflow_provider_cio.operators._partition import interval

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_cio.sync import Destination, SyncMode, SyncRequest


def platform_of(value: str) -> Platform:
    """``platform`` as the enum; a DAG author's typo fails when the DAG is parsed, naming the value."""
    try:
        return Platform(value)
    except ValueError:
        raise ValueError(
            f"platform must be one of {', '.join(p.value for p in Platform)}, not {value!r}"
        ) from None


def sync_mode_of(value: str) -> SyncMode:
    """The rendered ``mode`` (templated: checked when the task runs), naming the value it refuses."""
    from airflow_provider_cio.sync import SyncMode

    try:
        return SyncMode(value)
    except ValueError:
        raise ValueError(
            f"mode must be one of {', '.join(m.value for m in SyncMode)}, not {value!r}"
        ) from None


class CioAudienceSyncOperator(BaseOperator):
    """Diffs the run's snapshot against the last successfully synced one and applies the plan through the platform's
    destination: guardrails block before anything is sent, the ledger makes a retry resume instead of resending,
    and re-running a finished sync of the same snapshot is a no-op.

    ``platform`` is ``meta`` (``meta_custom_audience`` connection) or ``google`` (``google_customer_match``: Data
    Manager or Google Ads API, chosen by the connection). The platform audience is ``cio/{env}/{workspace}/{audience}``
    unless ``platform_audience_name`` names an existing one, so two deployments never mirror into one audience.
    Overrides of guards are explicit and logged. A snapshot older than the one last synced (a backfill, or the daily
    DAG after the hourly one) is skipped as ``superseded``: the live audience never goes back in time unless
    ``allow_older`` says so. With ``plan_only`` (a dry run) the plan is computed and reported and
    nothing is sent. Returns the PII-free sync report.

    A platform that accepted everything and is still processing it (Google: minutes to many hours) does not hold a
    worker slot: with ``deferrable`` the task waits ``worker_wait_seconds`` polling, then defers (a timer on the
    triggerer) and looks again, for at most ``max_processing_seconds`` in all. Each look resumes the run from its
    ledger: it polls the requests already sent and sends nothing again.

    Every real sync adds a row to the match-rate and reach history (``reporting.history``: Parquet in Blob), redraws
    the audience's trend report and sends drift alerts (match rate or reach down past ``drift`` thresholds) to
    ``alert_to`` notifiers, the way ``CioFailureNotifier`` forwards.

    ``on_guard`` says what happens when a guard would block: ``fail`` (``GuardrailBlocked``), ``skip`` (logged,
    nothing sent) or ``approve``: the DAG asks on-call first (``CioSyncGuardCheckOperator`` ->
    ``CioSyncApprovalOperator``, ids in ``guard_check_task_id`` / ``approval_task_id``) and this task reads the
    answer: approved, the approved guards are overridden and the approval recorded in the ledger and the report;
    rejected, the sync is skipped and nothing is sent.
    """

    template_fields: Sequence[str] = (
        "audience",
        "env",
        "workspace",
        "container",
        "mode",
        "plan_only",
        "allow_older",
        "allow_shrink",
        "only_audiences",
        "platform_audience_name",
    )
    ui_color = "#d5f5e3"
    operator_extra_links = (TrendReportLink(),)  # the audience's match-rate trend, redrawn by every real sync

    def __init__(
        self,
        *,
        audience: str,
        platform: Platform | str,
        conn_id: str,
        workspace: str,
        env: str = "dev",
        container: str = "customerio",
        wasb_conn_id: str = DEFAULT_BLOB_CONN_ID,
        mode: str = "mirror",
        platform_audience_name: str | None = None,
        min_size: int = 100,
        max_shrink: float = 0.30,
        allow_empty: bool = False,
        allow_shrink: bool | str = False,
        min_size_override: int | None = None,
        ignore_quality_verdict: bool = False,
        allow_older: bool | str = False,
        plan_only: bool | str = False,
        only_audiences: str | Sequence[str] = "",
        hourly: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        worker_wait_seconds: float = 300.0,
        max_processing_seconds: float = 48 * 3600.0,
        alert_to: Sequence[Any] = (),
        drift: dict[str, float] | None = None,
        preflight: bool = True,
        preflight_warn_days: float = 14.0,
        on_guard: str = "fail",
        guard_check_task_id: str | None = None,
        approval_task_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.audience = audience
        self.platform = platform_of(platform)
        self.conn_id = conn_id
        self.workspace = workspace
        self.env = env
        self.container = container
        self.wasb_conn_id = wasb_conn_id
        self.mode = mode
        self.platform_audience_name = platform_audience_name
        self.min_size = min_size
        self.max_shrink = max_shrink
        self.allow_empty = allow_empty
        self.allow_shrink = allow_shrink
        self.min_size_override = min_size_override
        self.ignore_quality_verdict = ignore_quality_verdict
        self.allow_older = allow_older
        self.plan_only = plan_only
        # the trigger form's audience subset (rendered "a,b"): a sync of another audience is skipped
        self.only_audiences = only_audiences
        self.hourly = hourly
        self.deferrable = deferrable
        self.worker_wait_seconds = worker_wait_seconds
        self.max_processing_seconds = max_processing_seconds
        # match-rate/reach drift alerts go to these notifiers as {{ cio_triage }}; ``drift``: DriftThresholds fields
        self.alert_to = list(alert_to)
        self.drift = dict(drift or {})
        # credentials and target checked before every sync (operators/_preflight.py)
        self.preflight = preflight
        self.preflight_warn_days = preflight_warn_days
        if on_guard not in ("approve", "fail", "skip"):
            raise ValueError(f"on_guard must be approve, fail or skip, not {on_guard!r}")
        self.on_guard = on_guard
        self.guard_check_task_id = guard_check_task_id
        self.approval_task_id = approval_task_id

    def _destination(self) -> Destination:
        if self.platform is Platform.META:
            from airflow_provider_cio.hooks.meta import MetaCustomAudienceHook

            return MetaCustomAudienceHook(self.conn_id).get_destination()
        from airflow_provider_cio.hooks.google import GoogleCustomerMatchHook

        destination = GoogleCustomerMatchHook(self.conn_id).get_destination()
        if self.deferrable:  # poll briefly in the worker; longer waits are deferrals (execute_complete)
            destination.bound_worker_wait(self.worker_wait_seconds)
        return destination

    def execute(self, context: Context) -> dict[str, Any]:
        self._apply_run_overrides(context)
        return self._sync_or_defer(context, waited=0.0)

    def _apply_run_overrides(self, context: Context) -> None:
        """Skip an audience outside the run's subset; log every override used, with who triggered the run."""
        from airflow.sdk.exceptions import AirflowSkipException

        from airflow_provider_cio.operators._run_overrides import describe, flag, subset, triggered_by, used

        only = subset(self.only_audiences)
        user = triggered_by(context)
        if only and self.audience not in only:
            self.log.info(
                "%s %s: skipped, this run syncs only %s (audience subset chosen by %s)",
                self.platform,
                self.audience,
                ", ".join(sorted(only)),
                user,
            )
            raise AirflowSkipException(f"{self.audience} is outside this run's audience subset")
        overrides = used(
            dry_run=flag(self.plan_only),
            allow_shrink=flag(self.allow_shrink),
            allow_older=flag(self.allow_older),
            audiences=only,
        )
        if overrides:
            self.log.warning("%s %s: %s", self.platform, self.audience, describe(overrides, user))

    def execute_complete(self, context: Context, event: Any = None, waited: float = 0.0) -> dict[str, Any]:
        """Back from a deferral: resume the run (poll what was sent; nothing is sent again)."""
        return self._sync_or_defer(context, waited=waited)

    def _sync_or_defer(self, context: Context, *, waited: float) -> dict[str, Any]:
        from airflow_provider_cio.operators._failfast import fail_fast
        from airflow_provider_cio.sync.errors import PlatformError, StillProcessing

        with fail_fast():
            try:
                return self._sync(context)
            except StillProcessing as exc:
                if not self.deferrable:
                    raise
                delay = max(30.0, float(exc.retry_after or 300.0))
                if waited + delay > self.max_processing_seconds:
                    raise PlatformError(
                        f"{self.platform} {self.audience}: still processing after {waited:.0f}s of deferred waits "
                        f"(max_processing_seconds {self.max_processing_seconds:.0f}); a retry polls again, "
                        "nothing is sent twice"
                    ) from exc
                self.log.info(
                    "%s %s: the platform is still processing what was sent; looking again in %.0fs "
                    "(deferred, %.0fs waited so far)",
                    self.platform,
                    self.audience,
                    delay,
                    waited,
                )
        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

        self.defer(
            trigger=TimeDeltaTrigger(timedelta(seconds=delay)),
            method_name="execute_complete",
            kwargs={"waited": waited + delay},
        )

    def _sync(self, context: Context) -> dict[str, Any]:
        from airflow_provider_cio.sync import GuardrailBlocked, run_sync

        store, ref, name, (start, end) = self._snapshot_target(context)
        dry_run = _flag(self.plan_only)
        approval = None if dry_run else self._approval(context)
        if self.preflight:
            from airflow_provider_cio.operators._preflight import run_preflight

            run_preflight(self, name, warn_days=self.preflight_warn_days)
        try:
            report = run_sync(
                self._destination(),
                store,
                self._sync_request(store, ref, name, end, dry_run=dry_run, approval=approval),
            )
        except GuardrailBlocked as exc:
            if self.on_guard != "skip":
                raise
            from airflow.sdk.exceptions import AirflowSkipException

            self.log.warning(
                "%s %s: skipped, nothing sent, the live audience is untouched (on_guard: skip): %s",
                self.platform,
                self.audience,
                exc,
            )
            raise AirflowSkipException(f"guard {exc.guard!r} would block: skipped (on_guard: skip)") from None
        except Exception as exc:  # a failed sync whose report exists still goes into the history
            from airflow_provider_cio.operators._sync_history import failed_report

            failed = failed_report(store, exc)
            if failed is not None:
                self._record_history(store, failed, start.date(), context)
            raise
        summary = report.to_dict()
        if not dry_run:
            summary["history"] = self._record_history(store, summary, start.date(), context)
        from airflow_provider_cio.operators._sync_summary import summary_line

        self.log.info(
            "%s (platform audience %s; %d rows sent in %d requests)",
            summary_line(self.platform, self.audience, summary),
            name,
            report.rows_sent,
            report.requests,
        )
        return summary

    def _snapshot_target(self, context: Context) -> tuple[Any, Any, str, tuple[datetime, datetime]]:
        """This run's snapshot and where it goes: the store, the snapshot's ref, the platform audience's name and
        the covered period (start, end)."""
        from airflow_provider_cio.audiences.snapshot import snapshot_ref
        from airflow_provider_cio.hooks.blob import object_store
        from airflow_provider_cio.sync.naming import platform_audience_name

        store = object_store(self.wasb_conn_id, self.container)
        start, end = interval(context, hourly=self.hourly)
        ref = snapshot_ref(
            self.env, self.workspace, self.audience, start.date(), start.hour if self.hourly else None
        )
        name = platform_audience_name(
            self.env, self.workspace, self.audience, override=self.platform_audience_name
        )
        return store, ref, name, (start, end)

    def _sync_request(
        self, store: Any, ref: Any, name: str, as_of: datetime, *, dry_run: bool, approval: Any = None
    ) -> SyncRequest:
        """The sync this operator asks for (the guard check plans the same one dry)."""
        from airflow_provider_cio.audiences.snapshot import snapshot_members
        from airflow_provider_cio.landing.layout import ledger_root
        from airflow_provider_cio.quality.verdicts import read_verdict
        from airflow_provider_cio.sync import Guardrails, SyncRequest
        from airflow_provider_cio.sync.naming import AudienceOwner

        return SyncRequest(
            audience_name=name,
            members=snapshot_members(store, ref, self.platform),
            mode=sync_mode_of(self.mode),
            guards=Guardrails(
                min_size=self.min_size,
                max_shrink=self.max_shrink,
                allow_empty=self.allow_empty,
                allow_shrink=_flag(self.allow_shrink),
                min_size_override=self.min_size_override,
                ignore_quality_verdict=self.ignore_quality_verdict,
                allow_older=_flag(self.allow_older),
            ),
            quality_passed=read_verdict(store, ref),
            dry_run=dry_run,
            ledger_root=ledger_root(self.env, self.workspace),
            description=AudienceOwner(self.env, self.workspace, self.audience).description(),
            as_of=as_of,
            approval=approval,
        )

    def _approval(self, context: Context) -> Any:
        """On-call's answer to this sync's approval request: an ``ApprovedOverride``, None when none was asked (no
        guard would block at the check), or ``AirflowSkipException`` when rejected (nothing sent)."""
        if self.on_guard != "approve" or not self.approval_task_id or not self.guard_check_task_id:
            return None
        from airflow.sdk.exceptions import AirflowSkipException

        from airflow_provider_cio.operators.sync_approval import read_answer

        answer = read_answer(context, self.guard_check_task_id, self.approval_task_id)
        if answer is None:
            return None
        if answer.approved:
            self.log.warning("%s %s: %s", self.platform, self.audience, answer.describe())
            return answer.override
        self.log.warning(
            "%s %s: skipped, nothing sent, the live audience is untouched: %s",
            self.platform,
            self.audience,
            answer.describe(),
        )
        raise AirflowSkipException(answer.describe())

    def _record_history(
        self, store: Any, report: dict[str, Any], covered: Any, context: Context
    ) -> dict[str, Any]:
        """The match-rate and reach history, the audience's trend report and drift alerts (never fails the sync)."""
        from airflow_provider_cio.operators._sync_history import record_and_alert

        return record_and_alert(self, store, report, covered, context)


def _flag(value: bool | str) -> bool:
    """A boolean argument that may arrive as a rendered template (``"{{ params.dry_run }}"`` -> ``"True"``)."""
    from airflow_provider_cio.operators._run_overrides import flag

    return flag(value)
