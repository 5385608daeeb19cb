"""``run_sync``: one audience snapshot to one destination, in four steps: plan -> guards -> send -> record.

Idempotent per snapshot: ``snapshot_id`` hashes the snapshot's content and the mode. A run whose snapshot is already
the synced state returns at once without touching the platform; a retried attempt of an unfinished run resumes
after the last batch its ledger records as acknowledged. The synced state advances only after every session of the
run reached a final status, and only for the members the platform applied: members of batches it refused, or
accepted and then failed, keep their previous state (absent, or their old row), the run fails loudly, and the next
run (a retry included) sends them again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow_provider_cio.landing.layout import audience_ledger
from airflow_provider_cio.storage.base import ObjectStore
from airflow_provider_cio.sync.approval import ApprovedOverride, apply_approval
from airflow_provider_cio.sync.destination import Destination
from airflow_provider_cio.sync.diff import diff_against
from airflow_provider_cio.sync.errors import DataError, MembersNotApplied, SyncError
from airflow_provider_cio.sync.guards import Guardrails, GuardVerdict, enforce_guards, evaluate_guards
from airflow_provider_cio.sync.ledger import Ledger
from airflow_provider_cio.sync.next_state import next_state
from airflow_provider_cio.sync.plan import SyncMode, SyncPlan, build_plan
from airflow_provider_cio.sync.report import SyncReport
from airflow_provider_cio.sync.request import SyncRequest, SyncRuntime
from airflow_provider_cio.sync.retry import RetryCounter, RetryPolicy, call_with_retry
from airflow_provider_cio.sync.send import send_operation
from airflow_provider_cio.sync.snapshot import Snapshot
from airflow_provider_cio.sync.state import RESEND_SENT_ON, StateInfo, StateStore

log = logging.getLogger(__name__)


def audience_slug(name: str) -> str:
    """A path-safe audience key; a short hash keeps distinct names that slug alike apart."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80] or "audience"
    if slug != name:
        slug = f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return slug


def ledger_prefix(ledger_root: str, platform: str, audience_name: str) -> str:
    """Where one platform audience's ledger and synced state live: keyed by the platform audience name, so a
    different platform audience (a new name) starts from an empty state instead of diffing against another's."""
    return audience_ledger(ledger_root, platform, audience_slug(audience_name))


def snapshot_id_for(snapshot: Snapshot, mode: SyncMode) -> str:
    return hashlib.sha256(f"{snapshot.content_id}|{mode}".encode()).hexdigest()[:24]


def run_id_for(snapshot_id: str, base: StateInfo | None) -> str:
    """The snapshot plus the state it is diffed against: a resume must rebuild exactly the same batches."""
    base_key = base.run_id if base else "initial"
    return f"{snapshot_id}-{hashlib.sha256(base_key.encode()).hexdigest()[:8]}"


def run_sync(
    destination: Destination,
    store: ObjectStore,
    request: SyncRequest,
    *,
    runtime: SyncRuntime | None = None,
) -> SyncReport:
    """Sync one audience snapshot to one destination; return a PII-free report.

    Raises ``GuardrailBlocked`` before anything is sent when a guard blocks (or the plan is not the approved one),
    ``ConfigurationError`` at once (never retried), ``PlatformError`` after bounded retries, ``DataError`` when the
    platform refused whole batches (the state is then not advanced), ``MembersNotApplied`` (platform, retried) after
    recording what did apply, when the platform accepted requests and then did not apply them.
    """
    run = _SyncRun(destination, store, request, runtime or SyncRuntime())
    settled = run.settled()
    if settled is not None:
        return settled
    run.plan()
    if request.dry_run:
        return run.record_dry_run()
    run.pass_guards()
    run.send()
    return run.record()


class _SyncRun:
    """One run's working state, advanced by ``run_sync`` one step at a time (each method is one step)."""

    sync_plan: SyncPlan
    verdicts: list[GuardVerdict]
    ledger: Ledger
    audience_id: str

    def __init__(
        self, destination: Destination, store: ObjectStore, request: SyncRequest, runtime: SyncRuntime
    ) -> None:
        """Load the synced state and fingerprint the snapshot against it: the run id depends on both."""
        self.destination, self.store, self.request, self.runtime = destination, store, request, runtime
        self.guards = request.guards or Guardrails()
        self.platform = destination.platform
        self.base = ledger_prefix(request.ledger_root, self.platform, request.audience_name)
        self.states = StateStore(store, self.base)
        self.previous = self.states.load()
        # unchanged members keep their stored fingerprint: only the churn is hashed
        self.snapshot = Snapshot.from_members(request.members, known=self.states.read_table(self.previous))
        self.snapshot_id = snapshot_id_for(self.snapshot, request.mode)
        self.run_id = run_id_for(self.snapshot_id, self.previous)
        self.report = SyncReport(
            status="synced",
            platform=self.platform,
            audience_name=request.audience_name,
            mode=request.mode,
            snapshot_id=self.snapshot_id,
            run_id=self.run_id,
            state=store.url(self.states.pointer_path),
        )
        self.today = runtime.now().astimezone(UTC).date()
        self.refresh_after_days = destination.refresh_after_days
        self.unapplied: set[str] = set()

    def settled(self) -> SyncReport | None:
        """A report when there is nothing to send: the snapshot is already synced, or older than the synced one
        (a backfill, or a daily run after an hourly one: the live audience never goes back in time by accident)."""
        previous, report, request = self.previous, self.report, self.request
        if (
            previous is not None
            and previous.snapshot_id == self.snapshot_id
            and not previous.unapplied
            and previous.oldest_sent_on != RESEND_SENT_ON  # members marked to be sent again
            and not _refresh_may_be_due(previous, self.refresh_after_days, self.today)
            and not request.dry_run
        ):
            log.info(
                "audience %s on %s: snapshot %s is already synced; nothing to do",
                request.audience_name,
                self.platform,
                self.snapshot_id,
            )
            report.status = "already_synced"
            report.audience_id = previous.audience_id
            report.plan = {"snapshot_size": len(self.snapshot), "expected_size": previous.size}
            return report

        as_of = request.as_of
        newer = _newer_synced(previous, as_of)
        if newer is None or self.guards.allow_older:
            return None
        log.info(
            "audience %s on %s: this snapshot describes %s, the synced one %s; a live audience does not go back "
            "in time, so nothing is sent (allow_older=True rolls it back on purpose)",
            request.audience_name,
            self.platform,
            as_of.isoformat() if as_of else "?",
            newer,
        )
        report.status = "superseded"
        report.audience_id = previous.audience_id if previous else None
        report.plan = {
            "snapshot_size": len(self.snapshot),
            "as_of": as_of.isoformat() if as_of else None,
            "synced_as_of": newer,
        }
        return report

    def plan(self) -> None:
        """Diff the snapshot against the synced state and judge the guards; the run's ledger is keyed by both."""
        self.sync_plan, self.verdicts = _plan(
            self.report,
            self.snapshot,
            self.previous,
            self.states,
            self.guards,
            self.request.quality_passed,
            self.request.mode,
            self.refresh_after_days,
            self.today,
        )
        self._open_ledger()

    def record_dry_run(self) -> SyncReport:
        """A dry run records its plan and verdicts (approval and blocking guards are not applied) and stops."""
        self.report.status = "dry_run"
        self.ledger.write_plan({"dry_run": True, "plan": self.report.plan, "guards": self.report.guards})
        return self.report

    def pass_guards(self) -> None:
        """Apply on-call's approval, then raise ``GuardrailBlocked`` if a guard still blocks: before any platform
        call, so a blocked sync touches nothing."""
        if self.request.approval is not None:
            self.verdicts = _approved(self.report, self.verdicts, self.request.approval, self.run_id)
        self.report.overrides_used = enforce_guards(self.verdicts)

    def send(self) -> None:
        """Find or create the platform audience, record the plan, then send every operation's batches."""
        self.audience_id = self._ensure_audience()
        report = self.report
        self.ledger.write_plan(
            {"dry_run": False, "plan": report.plan, "guards": report.guards, "approval": report.approval}
        )
        report.audience_id = self.audience_id
        if self.previous is not None and self.audience_id == self.previous.audience_id:
            report.platform_stats_before = self._stats("before the sync")
        sends = RetryCounter()
        for operation, op_members in self.sync_plan.operations():
            self.unapplied |= send_operation(
                self.destination,
                self.ledger,
                report,
                self.audience_id,
                operation,
                op_members,
                self.runtime,
                sends,
            )
        report.requests = sends.attempts
        report.retries = sends.retries
        report.members_unapplied = len(self.unapplied)

    def record(self) -> SyncReport:
        """Advance the synced state to what the platform applied, close the ledger, and fail loudly for the rest."""
        report, plan, previous, unapplied = self.report, self.sync_plan, self.previous, self.unapplied
        report.platform_stats = self._stats("after the sync")

        # A replace the platform ran (stats "applied", e.g. a Google Ads remove_all + creates job) left only what it
        # applied: members it refused are off the audience. Otherwise departed members stay where nothing removed
        # them: upsert, or a replace whose failed ingest left no sweep, and unapplied members keep their previous row.
        replaced = bool(plan.replace_members) and report.sessions.get("replace", {}).get("applied") is True
        departed_kept = self.request.mode == "upsert" or bool(
            unapplied and plan.replace_members and not replaced
        )
        # planned as if the audience held nothing (it was recreated): the state is written against the stored one
        rebased = previous is not None and plan.base_snapshot_id is None
        members_after, oldest = next_state(
            self.snapshot,
            diff_against(self.snapshot, self.states.read_table(previous))
            if rebased or plan.diff is None
            else plan.diff,
            sent=_sent_ids(plan),
            unapplied=unapplied,
            departed_kept=departed_kept,
            unapplied_absent=replaced,
            today=self.today.isoformat(),
            default_sent_on=previous.synced_on if previous else "",
            resend=plan.resend_next,
        )
        info = self.states.write(
            snapshot_id=self.snapshot_id,
            run_id=self.run_id,
            mode=self.request.mode,
            audience_id=self.audience_id,
            table=members_after,
            as_of=self.request.as_of,
            unapplied=len(unapplied),
            oldest_sent_on=lambda: oldest,
        )
        self.ledger.finish(report.to_dict())
        if report.batches_rejected:
            raise DataError(
                f"{self.platform} refused {report.batches_rejected} batch(es) as invalid data "
                f"({len(unapplied)} members); the synced state advanced for the rest only, so the next run sends "
                f"these again (ledger: {report.ledger})"
            )
        if unapplied:
            raise MembersNotApplied(self.platform, len(unapplied), report.unapplied_reasons, report.ledger)
        log.info(
            "audience %s on %s synced: %s rows sent in %s batches (%s resumed), state size %s",
            self.request.audience_name,
            self.platform,
            report.rows_sent,
            report.batches_sent,
            report.batches_skipped,
            info.size,
        )
        return report

    def _open_ledger(self) -> None:
        self.ledger = Ledger(self.store, self.base, self.run_id)
        self.report.ledger = self.ledger.url()

    def _ensure_audience(self) -> str:
        """The platform audience's id; when it is not the ledger's one, the plan is rebuilt against nothing."""
        request = self.request
        known_id = self.previous.audience_id if self.previous else None
        audience_id: str = call_with_retry(
            "ensure_audience",
            lambda: self.destination.ensure_audience(
                request.audience_name, description=request.description, known_id=known_id
            ),
            policy=self.runtime.retry,
            sleep=self.runtime.sleep,
        )
        if self.previous is not None and audience_id != known_id:
            self._rebase(known_id, audience_id)
        return audience_id

    def _rebase(self, known_id: str | None, audience_id: str) -> None:
        """The diff is only right for the audience that holds the ledger's members. One deleted on the platform
        (and so just recreated), or another found under the name, holds none of them: upload it in full."""
        request, report = self.request, self.report
        log.warning(
            "audience %s on %s: the ledger's audience %s is gone; %s does not hold its members, so this sync "
            "uploads the whole snapshot",
            request.audience_name,
            self.platform,
            known_id,
            audience_id,
        )
        report.replaced_audience_id = known_id
        report.run_id = self.run_id = run_id_for(self.snapshot_id, None)
        self.sync_plan, self.verdicts = _plan(
            report,
            self.snapshot,
            None,
            self.states,
            self.guards,
            request.quality_passed,
            request.mode,
            None,
            self.today,
        )
        if request.approval is not None:  # same snapshot, approved; only the audience holding it is new
            self.verdicts = _approved(report, self.verdicts, request.approval, request.approval.run_id)
        self._open_ledger()
        report.overrides_used = enforce_guards(self.verdicts)

    def _stats(self, when: str) -> dict[str, Any]:
        return _stats(self.destination, self.audience_id, self.runtime.retry, self.runtime.sleep, when)


def _approved(
    report: SyncReport, verdicts: list[GuardVerdict], approval: ApprovedOverride, run_id: str
) -> list[GuardVerdict]:
    """The verdicts with on-call's approval applied, recorded in the report (and so in the ledger's done.json)."""
    verdicts = apply_approval(verdicts, approval, run_id=run_id)
    report.guards = [v.to_dict() for v in verdicts]
    report.approval = approval.to_dict()
    log.warning(
        "audience %s on %s: guard(s) %s approved by %s at %s",
        report.audience_name,
        report.platform,
        ", ".join(approval.guards) or "none",
        approval.approved_by,
        approval.approved_at,
    )
    return verdicts


def _newer_synced(previous: StateInfo | None, as_of: datetime | None) -> str | None:
    """The synced snapshot's data time when it is later than ``as_of`` (None when unknown or not later)."""
    if previous is None or not previous.as_of or as_of is None:
        return None
    synced = datetime.fromisoformat(previous.as_of)
    return previous.as_of if synced > (as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)) else None


def _plan(
    report: SyncReport,
    snapshot: Snapshot,
    base: StateInfo | None,
    states: StateStore,
    guards: Guardrails,
    quality_passed: bool | None,
    mode: SyncMode,
    refresh_after_days: int | None,
    today: date,
) -> tuple[SyncPlan, list[GuardVerdict]]:
    """Diff ``snapshot`` against ``base`` (None: the audience holds nothing of ours) and judge the guards; the
    report carries both."""
    plan = build_plan(
        snapshot,
        base,
        states.read_table(base),
        mode=mode,
        snapshot_id=report.snapshot_id,
        refresh_after_days=refresh_after_days,
        today=today,
    )
    verdicts = evaluate_guards(plan, guards, quality_passed=quality_passed)
    report.plan, report.guards = plan.to_summary(), [v.to_dict() for v in verdicts]
    log.info(
        "audience %s on %s (%s): %s adds (%s of them refreshes), %s removes, %s replace rows, %s unchanged",
        report.audience_name,
        report.platform,
        mode,
        len(plan.adds),
        plan.refreshed_members,
        len(plan.removes),
        len(plan.replace_members),
        plan.unchanged_members,
    )
    return plan, verdicts


def _refresh_may_be_due(previous: StateInfo, refresh_after_days: int | None, today: date) -> bool:
    """Whether some stored member may be due for a refresh (states that do not record their oldest upload: yes)."""
    if not refresh_after_days:
        return False
    if not previous.oldest_sent_on:
        return True
    return previous.oldest_sent_on <= (today - timedelta(days=refresh_after_days / 2)).isoformat()


def _sent_ids(plan: SyncPlan) -> set[str] | None:
    """Members this run uploads (None: all of them, a replace)."""
    if plan.replace_members:
        return None
    return plan.added_ids()


def _stats(
    destination: Destination,
    audience_id: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    when: str,
) -> dict[str, Any]:
    """The platform's own figures for the audience; a failure to read them never fails a sync (a nicety)."""
    try:
        return dict(
            call_with_retry("describe", lambda: destination.describe(audience_id), policy=policy, sleep=sleep)
        )
    except SyncError as exc:
        log.warning("could not read audience stats %s: %s", when, type(exc).__name__)
        return {"error": exc.error_class}
