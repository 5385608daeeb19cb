"""Map Graph API failures onto the sync error classes, so retries and on-call messages reach the right owner.

Messages carry codes, subcodes, HTTP status and Meta's fbtrace id only: the SDK's own exception text includes the
request parameters (the hashed payload), so it is never chained or quoted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_cio.sync.errors import ConfigurationError, DataError, PlatformError, SyncError

THROTTLE_CODES = frozenset({4, 17, 32, 613})
PERMISSION_CODES = frozenset({10, 200, 294})
FLAGGED_AUDIENCE_SUBCODE = 1713230
TOKEN_OWNER = "the token owner must re-issue the access token"


def is_throttle_code(code: int | None) -> bool:
    return code is not None and (code in THROTTLE_CODES or 80000 <= code <= 80099)


def retry_after_from_headers(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds to wait from ``X-Business-Use-Case-Usage`` (minutes) or ``X-Ad-Account-Usage`` (seconds)."""
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    waits: list[float] = []
    buc = _json(lowered.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
                if isinstance(minutes, int | float):
                    waits.append(float(minutes) * 60.0)
    account = _json(lowered.get("x-ad-account-usage"))
    if isinstance(account, dict) and isinstance(account.get("reset_time_duration"), int | float):
        waits.append(float(account["reset_time_duration"]))
    return max(waits) if waits else None


def _json(value: Any) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def classify_request_error(exc: Any, *, what: str) -> SyncError:
    """Turn a ``facebook_business.exceptions.FacebookRequestError`` into a sync error (not raised here)."""
    code = exc.api_error_code()
    subcode = exc.api_error_subcode()
    status = exc.http_status()
    body = exc.body() if isinstance(exc.body(), dict) else {}
    trace = (body.get("error") or {}).get("fbtrace_id") if isinstance(body.get("error"), dict) else None
    where = f"{what}: Graph error code={code} subcode={subcode} http={status}" + (
        f" fbtrace_id={trace}" if trace else ""
    )

    if code == 190 or subcode in (458, 459, 460, 463, 464, 467):
        return ConfigurationError(
            f"{where}: the access token is invalid or expired", who_must_act=TOKEN_OWNER
        )
    if code == 100 and subcode == FLAGGED_AUDIENCE_SUBCODE:
        return ConfigurationError(
            f"{where}: the audience is flagged for sensitive categories (operation_status 471) and refuses edits; "
            "review the audience in Ads Manager or create a new one",
            who_must_act="the ad account owner",
        )
    if code == 2635:
        return ConfigurationError(
            f"{where}: this Graph API version is deprecated; raise the api_version setting",
            who_must_act="the owner of the Airflow connection (api_version extra)",
        )
    if code == 100 and "appsecret_proof" in (exc.api_error_message() or ""):
        return ConfigurationError(
            f"{where}: appsecret_proof was refused; check the app secret in the connection"
        )
    if code in PERMISSION_CODES or (code is not None and 200 <= code <= 299):
        return ConfigurationError(
            f"{where}: permission denied (the token lacks ads_management on this ad account, or the Custom "
            "Audience terms are not accepted)",
        )
    if is_throttle_code(code):
        return PlatformError(f"{where}: throttled", retry_after=retry_after_from_headers(exc.http_headers()))
    if exc.api_transient_error() or code in (1, 2) or (status is not None and status >= 500):
        return PlatformError(f"{where}: transient platform error")
    if code == 100:
        return DataError(f"{where}: invalid parameter (payload or session refused)")
    return SyncError(f"{where}: unexpected Graph error")
