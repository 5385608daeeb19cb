"""The Blob SAS's expiry, read from its ``se`` field, so a SAS is rotated before the first task fails with 403.

``se`` (signedExpiry) is ISO 8601 UTC: ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mmZ`` or ``YYYY-MM-DDThh:mm:ssZ`` ("Create a
service SAS", https://learn.microsoft.com/rest/api/storageservices/create-service-sas, "Specify the signature
validity interval"). A SAS without ``se`` takes its expiry from a stored access policy (``si``), which the token
does not show: that is reported as unknown rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from airflow_provider_cio.preflight.findings import ERROR, WARNING, Finding

WHO = "the storage account's owner (issue a new SAS and update the wasb connection: docs/runbook.md#rotating-secrets)"


def sas_from_connection_string(connection_string: str) -> str | None:
    """The ``SharedAccessSignature=`` part of an Azure connection string, if any."""
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "sharedaccesssignature":
            return value
    return None


def sas_expiry(sas_token: str) -> datetime | None:
    """``se`` as an aware UTC datetime; None when the token has none; ValueError when it is not a date."""
    values = parse_qs(sas_token.lstrip("?"), keep_blank_values=True).get("se")
    if not values:
        return None
    raw = values[0].strip()
    if len(raw) == 10:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"SAS expiry {raw!r} has no time zone (Azure writes UTC with 'Z')")
    return parsed.astimezone(UTC)


def check_sas(sas_token: str, *, now: datetime, warn_days: float = 14.0) -> list[Finding]:
    """Expired -> error; expiring within ``warn_days`` -> warning; no ``se`` -> warning (expiry unknown)."""
    try:
        expiry = sas_expiry(sas_token)
    except ValueError as exc:
        return [Finding(ERROR, "blob_sas_expiry", f"the SAS's expiry (se) cannot be read: {exc}", WHO)]
    if expiry is None:
        return [
            Finding(
                WARNING,
                "blob_sas_expiry",
                "the SAS has no expiry (se): it comes from a stored access policy, which preflight cannot see",
                WHO,
            )
        ]
    left = expiry - now
    stamp = expiry.isoformat().replace("+00:00", "Z")
    if left <= timedelta(0):
        return [Finding(ERROR, "blob_sas_expiry", f"the SAS expired at {stamp}", WHO)]
    if left <= timedelta(days=warn_days):
        days = left.total_seconds() / 86400
        return [Finding(WARNING, "blob_sas_expiry", f"the SAS expires at {stamp}, in {days:.1f} day(s)", WHO)]
    return []
