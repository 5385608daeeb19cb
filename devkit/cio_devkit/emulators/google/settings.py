"""Knobs that make the emulator behave like the real services in the ways our tests care about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class EmulatorSettings:
    """``job_polls``: how many status reads answer RUNNING before an Ads job finishes (poll-count driven).
    ``require_consent``: members without granted ``ad_user_data`` consent are accepted but never join a list (EEA
    behaviour).

    Data Manager (``dm_*``): a request is accepted at once and processed ``dm_processing_seconds`` after receipt, on
    the emulator's clock (hours by default, as Google: "Wait for 30 minutes, then send a RetrieveRequestStatus
    request ... Periodically repeat", Data Manager API "Diagnostics",
    https://developers.google.com/data-manager/api/devguides/diagnostics; tests pass seconds and a fake clock).
    Where Google's docs leave a choice open, the emulator's reading is a setting:
    ``dm_denied_consent``: "fail_request" (a member with consent DENIED fails the whole request: "If either consent
    field is set as denied ... Your upload request will return an error", "About consent for Customer Match
    partners", https://support.google.com/displayvideo/answer/14673239) or "skip_member" (only that member is not
    processed); ``dm_missing_consent``: "not_processed" (unspecified consent is not granted: EEA members are not
    processed, same page) or "processed" (a member outside the EEA); ``dm_require_terms_of_service``: whether an
    ingest without ``terms_of_service`` ACCEPTED is refused ("Set the termsOfService ... ACCEPTED", "Upload members
    to an audience", https://developers.google.com/data-manager/api/devguides/audiences/google-ads/customer-match/upload-data)
    or accepted.

    Google Ads API: an offline user data job is accepted by RunOfflineUserDataJob and finishes later ("user list
    members that will be processed asynchronously ... the processing results of the job can only be read using
    GoogleAdsService.Search/SearchStream", OfflineUserDataJob,
    https://developers.google.com/google-ads/api/reference/rpc/v26/OfflineUserDataJob): it ends after
    ``job_polls`` status reads AND ``job_seconds`` on the emulator clock (how long Google takes is not promised).
    User list sizes are estimates ("Estimated number of users ... null if the number of users has not yet been
    determined", UserList.size_for_display, https://developers.google.com/google-ads/api/reference/rpc/v26/UserList):
    a size is reported ``size_delay_seconds`` after the change that made it (unset before the list's first change is
    that old). How much Google rounds the estimate is not documented, so ``size_rounding`` is a reading: "exact" or
    "two_significant_digits" (12,345 -> 12,000). The defaults (0 s, exact) keep the devstack's checks exact.

    Both APIs: what a removal takes is a reading, ``removal_match``. Google keys a Customer Match list by the
    identifiers uploaded, not by the advertiser's customer id ("remove: Remove the provided data", Google Ads API
    reference, OfflineUserDataJobOperation,
    https://developers.google.com/google-ads/api/reference/rpc/v26/OfflineUserDataJobOperation; Data Manager
    "audienceMembers.remove: Removes a list of audience members", each an identifier set,
    https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/remove). Whether a removal
    takes only the identifiers it names (``"identifier"``) or the whole matched user, with every identifier merged
    into it (``"member"``, the default: the stored member sharing any key goes) is not documented.
    """

    dm_processing_seconds: float = 4 * 3600.0
    dm_denied_consent: str = "fail_request"
    dm_missing_consent: str = "not_processed"
    dm_require_terms_of_service: bool = True
    job_polls: int = 1
    require_consent: bool = True
    match_rate_percent: int = 70
    # Google Ads API (see the class docstring's second part)
    job_seconds: float = 0.0
    size_delay_seconds: float = 0.0
    size_rounding: str = "exact"
    removal_match: str = "member"

    def __post_init__(self) -> None:
        if self.removal_match not in ("member", "identifier"):
            raise ValueError("removal_match must be 'member' or 'identifier'")
        if self.size_rounding not in ("exact", "two_significant_digits"):
            raise ValueError("size_rounding must be 'exact' or 'two_significant_digits'")


def match_rate_bucket(percent: int) -> str:
    """The 10-point bucket both APIs report ("91_TO_100", "LESS_THAN_20", ...)."""
    if percent < 20:
        return "LESS_THAN_20"
    if percent <= 30:
        return "20_TO_30"
    low = ((percent - 1) // 10) * 10 + 1
    return f"{low}_TO_{min(low + 9, 100)}"


def enum_member(enum_cls: Any, name: str) -> Any:
    """``enum_cls[name]`` for proto-plus enums (which type checkers cannot index)."""
    return enum_cls[name]
