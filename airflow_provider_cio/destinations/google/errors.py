"""Translate Google API failures into the sync error classes, so retries and on-call know who must act.

Messages carry error codes, counts and resource names only - never the API's free text or triggers, which can echo
submitted values.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_cio.sync.errors import ConfigurationError, DataError, PlatformError, SyncError

# Data Manager ErrorInfo reasons that mean "the rows were wrong", not "the account is wrong".
_DM_DATA_REASONS = frozenset(
    {
        "INVALID_SHA256_FORMAT",
        "INVALID_HEX_ENCODING",
        "INVALID_BASE64_ENCODING",
        "INVALID_FORMAT",
        "INVALID_POSTAL_CODE",
        "INVALID_COUNTRY_CODE",
        "INVALID_AUDIENCE_MEMBER",
        "TOO_MANY_USER_IDENTIFIERS",
        "NO_IDENTIFIERS_PROVIDED",
        "MULTIPLE_DATA_TYPES_NOT_ALLOWED",
    }
)
_DM_CONFIG_REASONS = frozenset(
    {
        "TERMS_AND_CONDITIONS_NOT_SIGNED",
        "PERMISSION_DENIED",
        "INVALID_USER_LIST_ID",
        "INVALID_DESTINATION",
        "NOT_ALLOWLISTED",
        "OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH",
    }
)
_ADS_DATA_CODES = frozenset(
    {
        "INVALID_SHA256_FORMAT",
        "TOO_MANY_USER_IDENTIFIERS",
        "MISSING_USER_IDENTIFIER",
        "INVALID_COUNTRY_CODE",
        "INCOMPATIBLE_UPLOAD_KEY_TYPE",
        "INCOMPATIBLE_USER_IDENTIFIER",
        "INVALID_ENCODING",
    }
)
DATA_MANAGER_FIX = (
    "use the Data Manager backend (backend='data_manager'): Google no longer onboards new Customer Match callers "
    "on the Google Ads API"
)


def _retry_delay_seconds(duration: Any) -> float | None:
    seconds = getattr(duration, "seconds", None)
    if seconds is None:
        return None
    total = float(seconds) + float(getattr(duration, "nanos", 0)) / 1e9
    return total if total > 0 else None


def classify_data_manager(exc: BaseException, *, action: str) -> SyncError:
    """A Data Manager (google-api-core) exception as a sync error; ``action`` names what we were doing."""
    from google.api_core import exceptions as gexc
    from google.rpc import error_details_pb2

    if isinstance(exc, SyncError):
        return exc
    reason = getattr(exc, "reason", None) or ""
    details = list(getattr(exc, "details", None) or [])
    violations = sum(len(d.field_violations) for d in details if isinstance(d, error_details_pb2.BadRequest))
    where = f"data manager {action}"
    if isinstance(exc, gexc.TooManyRequests):  # ResourceExhausted is a TooManyRequests
        retry = next(
            (
                _retry_delay_seconds(d.retry_delay)
                for d in details
                if isinstance(d, error_details_pb2.RetryInfo)
            ),
            None,
        )
        return PlatformError(f"{where}: throttled (RESOURCE_EXHAUSTED)", retry_after=retry or 60.0)
    if isinstance(exc, gexc.Unauthenticated):
        return ConfigurationError(f"{where}: credentials rejected (UNAUTHENTICATED)")
    if reason == "INVALID_REMOVE_AS_OF_TIME":  # our clock ahead of Google's by more than the sweep margin
        return PlatformError(
            f"{where}: remove_as_of_time is in Google's future (clock skew)", retry_after=60.0
        )
    if reason == "TERMS_AND_CONDITIONS_NOT_SIGNED":
        return ConfigurationError(
            f"{where}: Customer Match terms of service not accepted for the operating account",
            who_must_act="an admin of the Google Ads account (accept the Customer Match terms)",
        )
    if isinstance(exc, gexc.PermissionDenied) or reason in _DM_CONFIG_REASONS:
        return ConfigurationError(f"{where}: {reason or 'PERMISSION_DENIED'}")
    if reason in _DM_DATA_REASONS:
        return DataError(f"{where}: request refused, {reason} ({violations} field violation(s))")
    if isinstance(exc, gexc.ServiceUnavailable | gexc.DeadlineExceeded | gexc.InternalServerError):
        return PlatformError(f"{where}: {type(exc).__name__}")
    return SyncError(f"{where}: unexpected {type(exc).__name__} {reason}".strip())


def ads_failure_from(exc: BaseException, failure_type: Any) -> Any | None:
    """The GoogleAdsFailure behind ``exc``: attached by the client, or (RESOURCE_EXHAUSTED/INTERNAL, which the
    client leaves unwrapped) read from the call's trailing metadata."""
    failure = getattr(exc, "failure", None)
    if failure is not None:
        return failure
    call = getattr(exc, "response", None) or exc
    trailing = getattr(call, "trailing_metadata", None)
    if not callable(trailing):
        return None
    try:
        metadata = trailing() or ()
    except Exception:  # a call object that cannot give metadata
        return None
    for key, value in metadata:
        if key.endswith(".errors.googleadsfailure-bin"):
            try:
                return failure_type.deserialize(value)
            except Exception:
                return None
    return None


def ads_error_codes(failure: Any) -> list[tuple[str, str]]:
    """``(family, code)`` per error, e.g. ``("quota_error", "RESOURCE_EXHAUSTED")``."""
    out = []
    for error in failure.errors:
        family = error.error_code._pb.WhichOneof("error_code") or "unknown"
        value = getattr(error.error_code, family, None)
        out.append((family, getattr(value, "name", str(value))))
    return out


def classify_ads(
    exc: BaseException, *, action: str, failure_type: Any, concurrent_retry_after: float
) -> SyncError:
    """A Google Ads exception (GoogleAdsException, google-api-core or raw gRPC) as a sync error."""
    import grpc

    if isinstance(exc, SyncError):
        return exc
    where = f"google ads {action}"
    failure = ads_failure_from(exc, failure_type)
    if failure is not None and failure.errors:
        codes = ads_error_codes(failure)
        names = {code for _, code in codes}
        families = {family for family, _ in codes}
        summary = ", ".join(sorted({f"{f}.{c}" for f, c in codes}))
        if "quota_error" in families:
            retry = None
            for error in failure.errors:
                if "quota_error_details" in error.details:
                    retry = _retry_delay_seconds(error.details.quota_error_details.retry_delay) or retry
            return PlatformError(f"{where}: throttled ({summary})", retry_after=retry or 60.0)
        if "CONCURRENT_MODIFICATION" in names:
            return PlatformError(
                f"{where}: CONCURRENT_MODIFICATION (another request is changing this job)",
                retry_after=concurrent_retry_after,
            )
        if "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE" in names:
            return ConfigurationError(
                f"{where}: the customer is not allowlisted for Customer Match on the Google Ads API; {DATA_MANAGER_FIX}",
                who_must_act="the owner of the Google connection (switch the backend)",
            )
        if "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS" in names:
            return ConfigurationError(
                f"{where}: the customer data terms are not accepted for this Google Ads account",
                who_must_act="an admin of the Google Ads account (accept the customer data terms in Google Ads)",
            )
        if families & {"authentication_error", "authorization_error"}:
            return ConfigurationError(f"{where}: {summary}")
        if "range_error" in families:  # a setting out of range (membership_life_span above 540: TOO_HIGH)
            return ConfigurationError(
                f"{where}: {summary} (a configured value is out of the range Google accepts)",
                who_must_act="the owner of the Google connection",
            )
        if names & _ADS_DATA_CODES:
            return DataError(f"{where}: request refused ({summary}, {len(codes)} error(s))")
        return SyncError(f"{where}: {summary}")
    code = exc.code() if isinstance(exc, grpc.Call) else getattr(exc, "grpc_status_code", None)
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return ConfigurationError(f"{where}: {code.name}")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return PlatformError(f"{where}: throttled (RESOURCE_EXHAUSTED)", retry_after=60.0)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL):
        return PlatformError(f"{where}: {code.name}")
    return SyncError(f"{where}: unexpected {type(exc).__name__}")
