"""Error classes every destination raises, so retries and on-call messages can tell who must act."""

from __future__ import annotations


class SyncError(RuntimeError):
    """Base of every sync failure. ``error_class`` feeds the on-call notifier."""

    error_class = "bug"


class ConfigurationError(SyncError):
    """Credentials, permissions, terms, allowlisting: a human must act; never retried."""

    error_class = "configuration"

    def __init__(self, message: str, *, who_must_act: str = "the owner of the platform credentials") -> None:
        super().__init__(f"{message} (who must act: {who_must_act})")
        self.who_must_act = who_must_act


class PlatformError(SyncError):
    """Throttled or down: retried with backoff; ``retry_after`` is the platform's hint in seconds, if any."""

    error_class = "platform"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DataError(SyncError):
    """The platform refused rows as invalid (counted, never with raw values)."""

    error_class = "upstream_data"


class GuardrailBlocked(SyncError):
    """A guardrail stopped the sync before anything was sent."""

    error_class = "upstream_data"

    def __init__(self, guard: str, message: str, *, override: str) -> None:
        super().__init__(f"guard {guard!r} blocked the sync: {message}. Override (logged): {override}")
        self.guard = guard
        self.override = override
