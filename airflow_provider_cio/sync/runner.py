"""``run_sync``: snapshot -> plan -> guardrails -> batches through a ``Destination`` -> ledger -> state.

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
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow_provider_cio.storage.base import ObjectStore
from airflow_provider_cio.sync.approval import ApprovedOverride, apply_approval
from airflow_provider_cio.sync.batching import make_batches
from airflow_provider_cio.sync.destination import Destination, Member, Operation, SessionState
from airflow_provider_cio.sync.diff import diff_against
from airflow_provider_cio.sync.errors import DataError, MembersNotApplied, SyncError
from airflow_provider_cio.sync.guards import Guardrails, GuardVerdict, enforce_guards, evaluate_guards
from airflow_provider_cio.sync.ledger import BatchRecord, Ledger
from airflow_provider_cio.sync.next_state import next_state
from airflow_provider_cio.sync.plan import SyncMode, SyncPlan, build_plan
from airflow_provider_cio.sync.report import SyncReport
from airflow_provider_cio.sync.retry import RetryCounter, RetryPolicy, call_with_retry
from airflow_provider_cio.sync.snapshot import Snapshot
from airflow_provider_cio.sync.state import StateInfo, StateStore

log = logging.getLogger(__name__)

AfterBatchHook = Callable[[Operation, int, int], None]


def audience_slug(name: str) -> str:
    """A path-safe audience key; a short hash keeps distinct names that slug alike apart."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80] or "audience"
    if slug != name:
        slug = f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return slug


def ledger_prefix(ledger_root: str, platform: str, audience_name: str) -> str:
    """Where one platform audience's ledger and synced state live: keyed by the platform audience name, so a
    different platform audience (a new name) starts from an empty state instead of diffing against another's."""
    return f"{ledger_root.rstrip('/')}/{platform}/{audience_slug(audience_name)}"


def snapshot_id_for(snapshot: Snapshot, mode: SyncMode) -> str:
    return hashlib.sha256(f"{snapshot.content_id}|{mode}".encode()).hexdigest()[:24]


def run_id_for(snapshot_id: str, base: StateInfo | None) -> str:
    """The snapshot plus the state it is diffed against: a resume must rebuild exactly the same batches."""
    base_key = base.run_id if base else "initial"
    return f"{snapshot_id}-{hashlib.sha256(base_key.encode()).hexdigest()[:8]}"


def run_sync(
    destination: Destination,
    store: ObjectStore,
    *,
    audience_name: str,
    members: Iterable[Member],
    mode: SyncMode = SyncMode.MIRROR,
    guards: Guardrails | None = None,
    quality_passed: bool | None = None,
    dry_run: bool = False,
    ledger_root: str = "ledger",
    description: str = "",
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    after_batch: AfterBatchHook | None = None,
    as_of: datetime | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    approval: ApprovedOverride | None = None,
) -> SyncReport:
    """Sync one audience snapshot to one destination; return a PII-free report.

    Raises ``GuardrailBlocked`` before anything is sent when a guard blocks, ``ConfigurationError`` at once (never
    retried), ``PlatformError`` after bounded retries, ``DataError`` when the platform refused whole batches (the
    state is then not advanced). ``after_batch(operation, seq, total)`` runs after each acknowledged batch is in the
    ledger (tests use it to simulate a crash). ``as_of`` is the data time the snapshot describes: a snapshot older
    than the one last synced (a backfill, or a daily run after an hourly one) is skipped as ``superseded`` and
    nothing is sent, unless ``guards.allow_older``; the live audience never goes back in time by accident.
    Raises ``MembersNotApplied`` (platform, retried) after recording what did apply, when the platform accepted
    requests and then did not apply them. ``now`` is the wall clock: it dates uploads for membership refresh.
    ``approval`` is on-call's approval of this very plan (``sync.approval``): the guards it names are overridden
    and it is recorded in the ledger and the report; a plan other than the approved one raises ``GuardrailBlocked``.
    """
    guards = guards or Guardrails()
    policy = retry or RetryPolicy()
    platform = destination.platform
    base = ledger_prefix(ledger_root, platform, audience_name)
    states = StateStore(store, base)

    previous = states.load()
    # unchanged members keep their stored fingerprint: only the churn is hashed
    snapshot = Snapshot.from_members(members, known=states.read_table(previous))
    snapshot_id = snapshot_id_for(snapshot, mode)
    run_id = run_id_for(snapshot_id, previous)
    report = SyncReport(
        status="synced",
        platform=platform,
        audience_name=audience_name,
        mode=mode,
        snapshot_id=snapshot_id,
        run_id=run_id,
        state=store.url(states.pointer_path),
    )

    today = now().astimezone(UTC).date()
    refresh_after_days = destination.refresh_after_days
    if (
        previous is not None
        and previous.snapshot_id == snapshot_id
        and not previous.unapplied
        and not _refresh_may_be_due(previous, refresh_after_days, today)
        and not dry_run
    ):
        log.info(
            "audience %s on %s: snapshot %s is already synced; nothing to do",
            audience_name,
            platform,
            snapshot_id,
        )
        report.status = "already_synced"
        report.audience_id = previous.audience_id
        report.plan = {"snapshot_size": len(snapshot), "expected_size": previous.size}
        return report

    newer = _newer_synced(previous, as_of)
    if newer is not None and not guards.allow_older:
        log.info(
            "audience %s on %s: this snapshot describes %s, the synced one %s; a live audience does not go back "
            "in time, so nothing is sent (allow_older=True rolls it back on purpose)",
            audience_name,
            platform,
            as_of.isoformat() if as_of else "?",
            newer,
        )
        report.status = "superseded"
        report.audience_id = previous.audience_id if previous else None
        report.plan = {
            "snapshot_size": len(snapshot),
            "as_of": as_of.isoformat() if as_of else None,
            "synced_as_of": newer,
        }
        return report

    plan, verdicts = _plan(
        report, snapshot, previous, states, guards, quality_passed, mode, refresh_after_days, today
    )
    ledger = Ledger(store, base, run_id)
    report.ledger = ledger.url()

    if approval is not None and not dry_run:
        verdicts = _approved(report, verdicts, approval, run_id)
    if dry_run:
        report.status = "dry_run"
        ledger.write_plan({"dry_run": True, "plan": report.plan, "guards": report.guards})
        return report

    report.overrides_used = enforce_guards(verdicts)  # a blocked sync makes no platform call at all
    known_id = previous.audience_id if previous else None
    audience_id = call_with_retry(
        "ensure_audience",
        lambda: destination.ensure_audience(audience_name, description=description, known_id=known_id),
        policy=policy,
        sleep=sleep,
    )
    if previous is not None and audience_id != known_id:
        # The diff is only right for the audience that holds the ledger's members. One deleted on the platform
        # (and so just recreated), or another found under the name, holds none of them: upload it in full.
        log.warning(
            "audience %s on %s: the ledger's audience %s is gone; %s does not hold its members, so this sync "
            "uploads the whole snapshot",
            audience_name,
            platform,
            known_id,
            audience_id,
        )
        report.replaced_audience_id = known_id
        report.run_id = run_id = run_id_for(snapshot_id, None)
        plan, verdicts = _plan(report, snapshot, None, states, guards, quality_passed, mode, None, today)
        if approval is not None:  # same snapshot, approved; only the audience holding it is new
            verdicts = _approved(report, verdicts, approval, approval.run_id)
        ledger = Ledger(store, base, run_id)
        report.ledger = ledger.url()
        report.overrides_used = enforce_guards(verdicts)
    ledger.write_plan(
        {"dry_run": False, "plan": report.plan, "guards": report.guards, "approval": report.approval}
    )
    report.audience_id = audience_id
    if previous is not None and audience_id == known_id:
        report.platform_stats_before = _stats(destination, audience_id, policy, sleep, "before the sync")
    sends = RetryCounter()
    unapplied: set[str] = set()
    for operation, op_members in plan.operations():
        unapplied |= _run_operation(
            destination, ledger, report, audience_id, operation, op_members, policy, sleep, sends, after_batch
        )
    report.requests = sends.attempts
    report.retries = sends.retries
    report.members_unapplied = len(unapplied)

    report.platform_stats = _stats(destination, audience_id, policy, sleep, "after the sync")

    # A replace the platform ran (stats "applied", e.g. a Google Ads remove_all + creates job) left only what it
    # applied: members it refused are off the audience. Otherwise departed members stay where nothing removed them:
    # upsert, or a replace whose failed ingest left no sweep, and unapplied members keep their previous row.
    replaced = bool(plan.replace_members) and report.sessions.get("replace", {}).get("applied") is True
    departed_kept = mode == "upsert" or bool(unapplied and plan.replace_members and not replaced)
    # planned as if the audience held nothing (it was recreated): the state is written against the stored one
    rebased = previous is not None and plan.base_snapshot_id is None
    members_after, oldest = next_state(
        snapshot,
        diff_against(snapshot, states.read_table(previous)) if rebased or plan.diff is None else plan.diff,
        sent=_sent_ids(plan),
        unapplied=unapplied,
        departed_kept=departed_kept,
        unapplied_absent=replaced,
        today=today.isoformat(),
        default_sent_on=previous.synced_on if previous else "",
    )
    info = states.write(
        snapshot_id=snapshot_id,
        run_id=run_id,
        mode=mode,
        audience_id=audience_id,
        table=members_after,
        as_of=as_of,
        unapplied=len(unapplied),
        oldest_sent_on=lambda: oldest,
    )
    ledger.finish(report.to_dict())
    if report.batches_rejected:
        raise DataError(
            f"{destination.platform} refused {report.batches_rejected} batch(es) as invalid data "
            f"({len(unapplied)} members); the synced state advanced for the rest only, so the next run sends "
            f"these again (ledger: {report.ledger})"
        )
    if unapplied:
        raise MembersNotApplied(destination.platform, len(unapplied), report.unapplied_reasons, report.ledger)
    log.info(
        "audience %s on %s synced: %s rows sent in %s batches (%s resumed), state size %s",
        audience_name,
        platform,
        report.rows_sent,
        report.batches_sent,
        report.batches_skipped,
        info.size,
    )
    return report


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


def _run_operation(
    destination: Destination,
    ledger: Ledger,
    report: SyncReport,
    audience_id: str,
    operation: Operation,
    members: list[Member],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    sends: RetryCounter,
    after_batch: AfterBatchHook | None,
) -> set[str]:
    """Send one operation's batches (resuming), close its session; return the customer ids the platform did not
    apply: batches it refused, and those its final status reports as failed (``failed_seqs``)."""
    batches = list(make_batches(members, destination.max_batch_size, destination.rows_for))
    report.batches_total += len(batches)
    acked = ledger.acknowledged(operation)
    session = _resume_session(ledger, operation, acked)
    if session is not None:
        _adopt_batch_in_flight(destination, ledger, audience_id, session, acked, batches, policy, sleep)
    if session is None:
        session = call_with_retry(
            f"open {operation} session",
            lambda: destination.open_session(audience_id, operation, total_members=len(members)),
            policy=policy,
            sleep=sleep,
        )
        ledger.save_session(session)
    elif acked:
        log.info("resuming %s: %s of %s batches already acknowledged", operation, len(acked), len(batches))

    for seq, batch in enumerate(batches, start=1):
        done = acked.get(seq)
        if done is not None:
            if done.size != len(batch):
                raise SyncError(f"ledger {ledger.prefix} does not match the rebuilt batch {operation}#{seq}")
            report.batches_skipped += 1
            report.received += done.received
            report.invalid += done.invalid
            report.batches_rejected += done.status == "rejected"
            continue
        last = seq == len(batches)
        current = session
        try:
            result = call_with_retry(
                f"{operation} batch {seq}/{len(batches)}",
                lambda b=batch, s=seq, lst=last, c=current: destination.send_batch(  # type: ignore[misc]
                    audience_id, c, b, seq=s, last=lst
                ),
                policy=policy,
                sleep=sleep,
                counter=sends,
            )
            record = BatchRecord(
                operation,
                seq,
                len(batch),
                result.received,
                result.invalid,
                "acknowledged",
                result.request_id,
                session.handle,
            )
        except DataError as exc:
            log.error("%s batch %s/%s refused as invalid data: %s", operation, seq, len(batches), exc)
            record = BatchRecord(operation, seq, len(batch), 0, len(batch), "rejected", None, session.handle)
            report.batches_rejected += 1
        ledger.record_batch(record)
        report.batches_sent += 1
        report.rows_sent += len(batch)
        report.received += record.received
        report.invalid += record.invalid
        if after_batch is not None:
            after_batch(operation, seq, len(batches))

    closed = ledger.load_closed(operation)
    if closed is None:
        closing = ledger.load_closing(operation) or session
        try:
            closed = call_with_retry(
                f"close {operation} session",
                lambda: destination.close_session(audience_id, closing),
                policy=policy,
                sleep=sleep,
            )
        except BaseException:
            ledger.save_closing(
                closing
            )  # e.g. a sweep sent while closing: the next attempt must not send another
            raise
        ledger.save_closed(operation, closed)
    report.sessions[operation] = closed

    failed_seqs = set(closed.get("failed_seqs") or ())
    failed_seqs |= {
        seq for seq, record in ledger.acknowledged(operation).items() if record.status == "rejected"
    }
    for reason, count in dict(closed.get("failed_reasons") or {}).items():
        report.unapplied_reasons[reason] = report.unapplied_reasons.get(reason, 0) + int(count)
    unapplied: set[str] = set()
    for seq in sorted(failed_seqs):
        if not 1 <= seq <= len(batches):
            raise SyncError(
                f"{destination.platform} reported {operation} batch {seq} failed; the run has {len(batches)}"
            )
        unapplied.update(member.customer_id for member in batches[seq - 1])
    if unapplied:
        log.warning(
            "%s: %s of %s %s batches (%s members) were not applied by the platform",
            destination.platform,
            len(failed_seqs),
            len(batches),
            operation,
            len(unapplied),
        )
    return unapplied


def _adopt_batch_in_flight(
    destination: Destination,
    ledger: Ledger,
    audience_id: str,
    session: SessionState,
    acked: dict[int, BatchRecord],
    batches: list[list[Member]],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
) -> None:
    """A worker lost between the platform's answer and the ledger write leaves one batch that landed unrecorded.

    Re-sending it would repeat it, and a platform that orders batches in a session (Meta) refuses the repeat, which
    would fail every retry. A destination that can count what its session received
    (``Destination.session_received``, counted like ``BatchResult.received``; None when it cannot say) lets the
    resume record that batch instead.
    """
    seq = max(acked, default=0) + 1
    if seq > len(batches):
        return
    counted = call_with_retry(
        f"count {session.operation} session",
        lambda: destination.session_received(audience_id, session),
        policy=policy,
        sleep=sleep,
    )
    recorded = sum(record.received for record in acked.values() if record.status != "rejected")
    if counted is None or counted <= recorded:
        return
    log.warning(
        "%s batch %s/%s reached %s before the last attempt was lost; recorded now, not sent again",
        session.operation,
        seq,
        len(batches),
        destination.platform,
    )
    record = BatchRecord(
        session.operation,
        seq,
        len(batches[seq - 1]),
        counted - recorded,
        0,
        "acknowledged",
        None,
        session.handle,
    )
    ledger.record_batch(record)
    acked[seq] = record


def _resume_session(
    ledger: Ledger, operation: Operation, acked: dict[int, BatchRecord]
) -> SessionState | None:
    """The session as of the last acknowledged batch (a destination may advance its handle), else as opened."""
    if acked:
        last = acked[max(acked)]
        return SessionState(operation=operation, handle=dict(last.session))
    return ledger.load_session(operation)


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
    return {member.customer_id for member in plan.adds}


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
