"""The provider's error vocabulary: who must act on a failure, as a type rather than a string each module spells.

Every exception the provider raises derives from ``CioError`` and declares its ``ErrorClass``; fail-fast and the
on-call triage read that (a ``str`` enum, so logs, XCom and alerts keep the readable value ``"upstream_data"``).
Airflow-free and import-free: every layer may import it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorClass(StrEnum):
    """Who acts on a failure: the four classes the runbook has a section for."""

    CONFIGURATION = "configuration"  # credentials, permissions, settings: a human fixes them; retries cannot
    UPSTREAM_DATA = "upstream_data"  # the data is missing, late or wrong: its producer acts; retries cannot
    PLATFORM = "platform"  # a platform is throttled or down: retried with backoff
    BUG = "bug"  # none of the above: the code must change

    @property
    def retryable(self) -> bool:
        """False where a retry cannot change the outcome, so the task fails at once (no retries burned)."""
        return self not in (ErrorClass.CONFIGURATION, ErrorClass.UPSTREAM_DATA)


class CioError(Exception):
    """Base of every failure the provider raises; subclasses set ``error_class`` (the default says: a bug)."""

    error_class: ClassVar[ErrorClass] = ErrorClass.BUG


def declared_class(exc: BaseException) -> ErrorClass | None:
    """The class ``exc`` declares: a ``CioError``'s own, else an ``error_class`` attribute naming a valid class
    (modules not yet on the base, foreign code following the same convention), else None."""
    if isinstance(exc, CioError):
        return exc.error_class
    value = getattr(exc, "error_class", None)
    if isinstance(value, str):
        try:
            return ErrorClass(value)
        except ValueError:
            return None
    return None
