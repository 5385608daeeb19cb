"""Send one operation's batches through a ``Destination``, resuming after what the ledger records, and close its
session: the "send" step of ``run_sync``, kept apart so the runner's flow reads in one screen."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from airflow_provider_cio.sync.batching import make_batches
from airflow_provider_cio.sync.destination import Destination, Member, Operation, SessionState
from airflow_provider_cio.sync.errors import DataError, SyncError
from airflow_provider_cio.sync.ledger import BatchRecord, Ledger
from airflow_provider_cio.sync.report import SyncReport
from airflow_provider_cio.sync.request import SyncRuntime
from airflow_provider_cio.sync.retry import RetryCounter, call_with_retry

log = logging.getLogger(__name__)


def send_operation(
    destination: Destination,
    ledger: Ledger,
    report: SyncReport,
    audience_id: str,
    operation: Operation,
    members: Sequence[Member],
    runtime: SyncRuntime,
    sends: RetryCounter,
) -> set[str]:
    """Send one operation's batches (resuming), close its session; return the customer ids the platform did not
    apply: batches it refused, and those its final status reports as failed (``failed_seqs``)."""
    batches = list(make_batches(members, destination.max_batch_size, destination.rows_for))
    report.batches_total += len(batches)
    acked = ledger.acknowledged(operation)
    session = _resume_session(ledger, operation, acked)
    if session is not None:
        _adopt_batch_in_flight(destination, ledger, audience_id, session, acked, batches, runtime)
    if session is None:
        session = call_with_retry(
            f"open {operation} session",
            lambda: destination.open_session(audience_id, operation, total_members=len(members)),
            policy=runtime.retry,
            sleep=runtime.sleep,
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
                policy=runtime.retry,
                sleep=runtime.sleep,
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
        if runtime.after_batch is not None:
            runtime.after_batch(operation, seq, len(batches))

    closed = ledger.load_closed(operation)
    if closed is None:
        closing = ledger.load_closing(operation) or session
        try:
            closed = call_with_retry(
                f"close {operation} session",
                lambda: destination.close_session(audience_id, closing),
                policy=runtime.retry,
                sleep=runtime.sleep,
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
    runtime: SyncRuntime,
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
        policy=runtime.retry,
        sleep=runtime.sleep,
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
