"""The seam between the destination-independent sync core and one ad platform.

The core (plan, guardrails, ledger) decides *what* to send; a ``Destination`` knows *how* one platform receives it.
Members arrive already normalized and hashed for that platform (``airflow_provider_cio.identity``), so a destination
never sees raw PII.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Operation = Literal["add", "remove", "replace"]


@dataclass(frozen=True)
class Member:
    """One audience member as a platform receives it.

    ``customer_id`` is the retention team's own id (sent as EXTERN_ID to Meta; never used as a key by Google).
    ``identifiers`` maps an identifier kind (email, phone, first_name, last_name, city, state, zip, country) to the
    member's values, SHA-256 hex for hashed kinds and plain for country/zip where the platform wants them plain.
    """

    customer_id: str
    identifiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    consent: bool = True  # ad_user_data / ad_personalization granted (Google, EEA)
    # On a removal only: the person stays in the audience and ``identifiers`` holds just the values they no longer
    # have. A destination must send it so that the platform cannot match the person by what they keep (EXTERN_ID).
    retained: bool = False


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


class Destination(Protocol):
    """One ad platform account, ready to receive batches for one audience.

    Optional (looked up with ``getattr`` by the sync core, so implementations need not define it):
    ``rows_for(member) -> int`` weighs a member when one member becomes several request rows (Meta: one row per
    email/phone value); ``max_batch_size`` is then a row budget per request instead of a member count;
    ``refresh_after_days`` (int or None) makes the core re-send a member whose last upload is that old, where the
    platform lets memberships lapse (Google Customer Match: at most 540 days). The session handle must be
    JSON-serializable: the core stores it in the ledger and hands it back on resume.

    A platform accepting a request is not the platform having applied it: ``close_session`` waits for the final
    status and reports the batches whose members were not (or not provably) applied as ``failed_seqs`` (batch seq
    numbers) with ``failed_reasons`` ({reason: count}) in its stats; the core then advances the synced state only
    for the other members, so the next run sends the failed ones again.
    """

    platform: str  # "meta" | "google"
    max_batch_size: int  # members per request

    def ensure_audience(self, name: str, *, description: str = "", known_id: str | None = None) -> str:
        """Find the audience by name or create it; return its platform id.

        ``known_id`` is the audience this deployment last synced (from the ledger): where a platform allows several
        audiences with one name (Meta), it is the one to use, and several without it are refused as ambiguous."""

    def open_session(self, audience_id: str, operation: Operation, *, total_members: int) -> SessionState:
        """Start one upload session for ``operation`` (Meta session, Google Ads offline user data job, ...)."""

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

    def close_session(self, audience_id: str, session: SessionState) -> dict[str, Any]:
        """Finish the session (run and wait for a Google Ads job, poll a request status); return PII-free stats."""

    def describe(self, audience_id: str) -> dict[str, Any]:
        """Audience size / match-rate figures the platform reports (PII-free)."""
