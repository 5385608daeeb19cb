"""The seam between the destination-independent sync core and one ad platform.

The core (plan, guardrails, ledger) decides *what* to send; a ``Destination`` knows *how* one platform receives it.
Members arrive already normalized and hashed for that platform (``airflow_provider_cio.identity``), so a destination
never sees raw PII.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# the audience stage owns what a member is; the sync core re-exports it for destinations
from airflow_provider_cio.audiences.member import Member

__all__ = ["BatchResult", "Destination", "Member", "Operation", "SessionState"]

Operation = Literal["add", "remove", "replace"]


@dataclass(frozen=True)
class BatchResult:
    """What the platform acknowledged for one request (counts only; samples never carry raw values)."""

    received: int
    invalid: int = 0
    request_id: str | None = None
    failed_indexes: tuple[int, ...] = ()
    failure_reasons: Mapping[str, int] = field(default_factory=dict)


@dataclass
class SessionState:
    """Opaque per-operation session (Meta session id, Google Ads job resource name, ...), stored in the ledger."""

    operation: Operation
    handle: dict[str, Any] = field(default_factory=dict)


class Destination(ABC):
    """One ad platform account, ready to receive batches for one audience.

    Every method the sync core calls is declared here; the optional ones have a default a platform overrides:
    ``rows_for(member) -> int`` weighs a member when one member becomes several request rows (Meta: one row per
    email/phone value); ``max_batch_size`` is then a row budget per request instead of a member count;
    ``refresh_after_days`` (int or None) makes the core re-send a member whose last upload is that old, where the
    platform lets memberships lapse (Google Customer Match: at most 540 days); ``session_received`` tells a resumed
    run what the platform already holds; ``bound_worker_wait`` caps how long ``close_session`` may wait in a worker
    (a deferrable operator waits longer as a deferral). The session handle must be JSON-serializable: the core
    stores it in the ledger and hands it back on resume.

    A platform accepting a request is not the platform having applied it: ``close_session`` waits for the final
    status and reports the batches whose members were not (or not provably) applied as ``failed_seqs`` (batch seq
    numbers) with ``failed_reasons`` ({reason: count}) in its stats; the core then advances the synced state only
    for the other members, so the next run sends the failed ones again.
    """

    platform: str  # "meta" | "google"
    max_batch_size: int  # members per request (a row budget when rows_for weighs members)
    refresh_after_days: int | None = None  # None: memberships never lapse, nothing is re-sent for age

    @abstractmethod
    def ensure_audience(self, name: str, *, description: str = "", known_id: str | None = None) -> str:
        """Find the audience by name or create it; return its platform id.

        ``known_id`` is the audience this deployment last synced (from the ledger): where a platform allows several
        audiences with one name (Meta), it is the one to use, and several without it are refused as ambiguous."""

    @abstractmethod
    def open_session(self, audience_id: str, operation: Operation, *, total_members: int) -> SessionState:
        """Start one upload session for ``operation`` (Meta session, Google Ads offline user data job, ...)."""

    @abstractmethod
    def send_batch(
        self,
        audience_id: str,
        session: SessionState,
        batch: Sequence[Member],
        *,
        seq: int,
        last: bool,
    ) -> BatchResult:
        """Send one batch (seq counts from 1). Raise ``airflow_provider_cio.sync.errors`` classes on failure."""

    @abstractmethod
    def close_session(self, audience_id: str, session: SessionState) -> dict[str, Any]:
        """Finish the session (run and wait for a Google Ads job, poll a request status); return PII-free stats."""

    @abstractmethod
    def describe(self, audience_id: str) -> dict[str, Any]:
        """Audience size / match-rate figures the platform reports (PII-free)."""

    def rows_for(self, member: Member) -> int:
        """Request rows ``member`` becomes (default 1: ``max_batch_size`` counts members)."""
        return 1

    def session_received(self, audience_id: str, session: SessionState) -> int | None:
        """Rows the platform already holds for an open session (counted like ``BatchResult.received``), or None
        when it cannot say: a resumed run then trusts its ledger."""
        return None

    def bound_worker_wait(self, seconds: float) -> None:
        """Wait at most about ``seconds`` for the platform inside ``close_session`` (default: it never waits)."""
        return None
