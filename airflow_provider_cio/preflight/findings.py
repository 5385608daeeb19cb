"""What a preflight check found, and the one rule for acting on it: errors stop the sync, warnings are logged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_cio.sync.errors import ConfigurationError

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning
    check: str  # e.g. meta_token_expiry, blob_sas_expiry
    message: str  # what, the figures (dates, days left), never the secret itself
    who_must_act: str

    def line(self) -> str:
        return f"[{self.level}] {self.check}: {self.message} (who must act: {self.who_must_act})"


def raise_for(findings: Sequence[Finding]) -> list[Finding]:
    """Raise a ConfigurationError naming every error and who must act (the first error's owner); else return the
    warnings for the caller to log."""
    errors = [f for f in findings if f.level == ERROR]
    if errors:
        raise ConfigurationError(
            "preflight failed before anything was sent: "
            + "; ".join(f"{f.check}: {f.message}" for f in errors),
            who_must_act=errors[0].who_must_act,
        )
    return [f for f in findings if f.level == WARNING]
