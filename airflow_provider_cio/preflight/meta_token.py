"""Meta's own view of our token (``GET /debug_token``) and of the audience, judged before a sync.

``debug_token`` returns ``data`` with ``is_valid``, ``expires_at`` and ``data_access_expires_at`` (Unix seconds),
``scopes`` and, for an invalid token, ``error`` ("Debug-Token", Graph API reference,
https://developers.facebook.com/docs/graph-api/reference/debug_token/; "Inspecting access tokens", Facebook Login,
https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging). ``expires_at`` 0 is read as
"never" (system-user tokens): an assumption, not a documented rule. Custom Audiences need ``ads_management``
(Custom Audiences, https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences/).
An audience flagged by the sensitive-category review shows ``operation_status`` code 471 and refuses edits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_cio.preflight.findings import ERROR, WARNING, Finding

WHO_TOKEN = "the owner of the Meta token (Business Manager system user; docs/runbook.md#rotating-secrets)"
WHO_AUDIENCE = "the Meta ad account's owner (review the audience in Ads Manager, or use another audience)"
REQUIRED_SCOPES = ("ads_management",)
FLAGGED_STATUS = 471


def _when(seconds: Any) -> datetime | None:
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(value, UTC) if value > 0 else None


def check_token(
    data: dict[str, Any],
    *,
    now: datetime,
    warn_days: float = 14.0,
    required_scopes: Iterable[str] = REQUIRED_SCOPES,
) -> list[Finding]:
    """Findings for ``debug_token``'s ``data``: invalid, expired, expiring, missing scopes, data access lapsing."""
    if not data.get("is_valid"):
        error = data.get("error") or {}
        why = error.get("message") or "Meta says the token is not valid"
        code = f" (code {error.get('code')})" if error.get("code") else ""
        return [Finding(ERROR, "meta_token_valid", f"{why}{code}", WHO_TOKEN)]
    findings = []
    missing = sorted(set(required_scopes) - set(data.get("scopes") or ()))
    if missing:
        findings.append(
            Finding(
                ERROR,
                "meta_token_scopes",
                f"the token lacks the permission(s) {', '.join(missing)}",
                WHO_TOKEN,
            )
        )
    for field, check in (("expires_at", "meta_token_expiry"), ("data_access_expires_at", "meta_data_access")):
        when = _when(data.get(field))
        if when is None:
            continue
        stamp = when.isoformat().replace("+00:00", "Z")
        left = when - now
        if left <= timedelta(0):
            findings.append(Finding(ERROR, check, f"{field} {stamp} has passed", WHO_TOKEN))
        elif left <= timedelta(days=warn_days):
            days = left.total_seconds() / 86400
            findings.append(Finding(WARNING, check, f"{field} {stamp}, in {days:.1f} day(s)", WHO_TOKEN))
    return findings


def check_audience(fields: dict[str, Any]) -> list[Finding]:
    """An audience Meta's review flagged (operation_status 471) refuses every edit: stop before sending."""
    status = fields.get("operation_status") or {}
    code = status.get("code") if isinstance(status, dict) else status
    if str(code).strip() != str(FLAGGED_STATUS):
        return []
    return [
        Finding(
            ERROR,
            "meta_audience_flagged",
            f"audience {fields.get('id', '?')} is flagged by Meta's review (operation_status {FLAGGED_STATUS}) "
            "and refuses edits",
            WHO_AUDIENCE,
        )
    ]
