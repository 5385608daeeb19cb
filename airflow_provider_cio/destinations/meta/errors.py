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
# "Flagged custom and lookalike audiences", Custom Audience Users / Usersreplace reference:
# https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users
FLAGGED_AUDIENCE_SUBCODE = 1713230
# 2650: "failed to update the custom audience" (facebook-business FacebookErrorCodes.service_error). Meta answers it
# when a replace session ended (timed out, or interrupted) and when it refuses an edit of the audience; the subcodes
# Meta uses for each are not in its public reference, so the decision rests on the operation and the user message.
SERVICE_ERROR = 2650
TOKEN_OWNER = "the token owner must re-issue the access token"
AD_ACCOUNT_OWNER_FLAGGED = (
    "the ad account owner: resolve the sensitive-category review of this audience in Ads Manager (appeal the "
    "restriction), or point this sync at a new audience"
)
AUDIENCE_OWNER_SMALL = (
    "the audience owner: Meta refuses removals from an audience this small; sync it in replace mode, or let it "
    "grow past Meta's minimum before mirroring removals"
)


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


def _mentions_size(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ("too small", "fewer than", "minimum size", "small audience"))


def _json(value: Any) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def is_replace_session_ended(exc: Any, *, operation: str, seq: int) -> bool:
    """Meta dropped the replace session this batch belongs to (expired, or interrupted): error 2650 on a batch of a
    replace session already under way. What the session received counts for nothing; a new session must send it all.
    """
    return operation == "replace" and seq > 1 and exc.api_error_code() == SERVICE_ERROR


def _user_text(exc: Any) -> str:
    """Meta's user-facing title and message (they describe the audience, never the rows)."""
    body = exc.body() if isinstance(exc.body(), dict) else {}
    error = body.get("error")
    if not isinstance(error, dict):
        return ""
    return " ".join(str(error.get(k) or "") for k in ("error_user_title", "error_user_msg")).strip()


def classify_request_error(exc: Any, *, what: str, operation: str | None = None) -> SyncError:
    """Turn a ``facebook_business.exceptions.FacebookRequestError`` into a sync error (not raised here)."""
    code = exc.api_error_code()
    subcode = exc.api_error_subcode()
    status = exc.http_status()
    body = exc.body() if isinstance(exc.body(), dict) else {}
    trace = (body.get("error") or {}).get("fbtrace_id") if isinstance(body.get("error"), dict) else None
    where = f"{what}: Graph error code={code} subcode={subcode} http={status}" + (
        f" fbtrace_id={trace}" if trace else ""
    )
    user_text = _user_text(exc)

    if code == 190 or subcode in (458, 459, 460, 463, 464, 467):
        return ConfigurationError(
            f"{where}: the access token is invalid or expired", who_must_act=TOKEN_OWNER
        )
    if subcode == FLAGGED_AUDIENCE_SUBCODE:
        return ConfigurationError(
            f"{where}: the audience is flagged for sensitive categories (operation_status 471) and refuses every "
            "membership edit; nothing of this request was applied and retrying cannot help",
            who_must_act=AD_ACCOUNT_OWNER_FLAGGED,
        )
    if code == SERVICE_ERROR and operation == "remove" and _mentions_size(user_text):
        return ConfigurationError(
            f"{where}: Meta refused to remove people from this audience because it is below its minimum size "
            f"({user_text[:160]}); the people stay in the audience",
            who_must_act=AUDIENCE_OWNER_SMALL,
        )
    if code == SERVICE_ERROR and operation == "replace":
        return ConfigurationError(
            f"{where}: Meta refused to start replacing this audience ({user_text[:160] or 'no reason given'}); "
            "the audience keeps its previous members",
            who_must_act="the owner of the Meta ad account: check the audience in Ads Manager",
        )
    if code == SERVICE_ERROR:
        return ConfigurationError(
            f"{where}: Meta refused to update the custom audience ({user_text[:160] or 'no reason given'}); "
            "nothing of this request was applied",
            who_must_act="the owner of the Meta ad account: check the audience in Ads Manager",
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
