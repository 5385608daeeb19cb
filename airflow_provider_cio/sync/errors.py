"""Error classes every destination raises, so retries and on-call messages can tell who must act."""

from __future__ import annotations

from airflow_provider_cio.errors import CioError, ErrorClass


class SyncError(CioError, RuntimeError):
    """Base of every sync failure. ``error_class`` feeds the on-call notifier."""

    error_class = ErrorClass.BUG


class ConfigurationError(SyncError):
    """Credentials, permissions, terms, allowlisting: a human must act; never retried."""

    error_class = ErrorClass.CONFIGURATION

    def __init__(self, message: str, *, who_must_act: str = "the owner of the platform credentials") -> None:
        super().__init__(f"{message} (who must act: {who_must_act})")
        self.who_must_act = who_must_act


class PlatformError(SyncError):
    """Throttled or down: retried with backoff; ``retry_after`` is the platform's hint in seconds, if any."""

    error_class = ErrorClass.PLATFORM

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StillProcessing(PlatformError):
    """Everything was sent and accepted and the platform is still processing it (Google: minutes to many hours).
    Not a fault: look again later. A resumed run polls the same requests (the ledger holds them) and sends nothing
    again, so the wait can be a deferral that frees the worker slot."""


class DataError(SyncError):
    """The platform refused rows as invalid (counted, never with raw values)."""

    error_class = ErrorClass.UPSTREAM_DATA


class GuardrailBlocked(SyncError):
    """A guardrail stopped the sync before anything was sent."""

    error_class = ErrorClass.UPSTREAM_DATA

    def __init__(self, guard: str, message: str, *, override: str) -> None:
        super().__init__(f"guard {guard!r} blocked the sync: {message}. Override (logged): {override}")
        self.guard = guard
        self.override = override


class MembersNotApplied(PlatformError):
    """The platform accepted requests and then did not apply them (Data Manager FAILURE / PARTIAL_SUCCESS, a
    Google Ads job FAILED). The synced state advanced for the rest; a retry or the next run sends these again."""

    def __init__(self, platform: str, members: int, reasons: dict[str, int], ledger: str | None) -> None:
        shown = (
            ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items())) or "no reason given"
        )
        super().__init__(
            f"{platform} accepted {members} member(s) and then did not apply them ({shown}); the synced state "
            f"advanced for the others only, and the next attempt sends these again (ledger: {ledger})"
        )
        self.members = members
        self.reasons = dict(reasons)
        self.ledger = ledger  # the run's ledger (its done.json holds the report: the sync history reads it)
