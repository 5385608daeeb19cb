"""Customer Match membership life span and refresh, validated once for both Google backends.

A member not uploaded again within its list's membership life span drops out. Since April 2025 the life span is at
most 540 days ("requests to set the UserList.membership_life_span field ... to greater than 540 will return a
RangeError.TOO_HIGH error"; lists with no expiration (10000) were moved to 540: "Update to Customer Match membership
expiration starting April 7, 2025", https://developers.google.com/ads/blog/posts/2025/02/update-to-customer-match-membership).
The sync core re-sends a member once it was last sent ``refresh_after_days`` ago, so that must stay below the span.
"""

from __future__ import annotations

from airflow_provider_cio.sync.errors import ConfigurationError

MAX_MEMBERSHIP_LIFE_SPAN_DAYS = 540
OWNER = "the owner of the Google connection"


def checked_membership(backend: str, life_span: object, refresh_after_days: object | None) -> tuple[int, int]:
    """``(membership_life_span_days, refresh_after_days)``; the refresh defaults to a third of the span. A bad value
    is a ``ConfigurationError`` naming the key."""
    if (
        isinstance(life_span, bool)
        or not isinstance(life_span, int)
        or not 1 <= life_span <= MAX_MEMBERSHIP_LIFE_SPAN_DAYS
    ):
        raise ConfigurationError(
            f"{backend}: membership_life_span_days must be a whole number of days from 1 to "
            f"{MAX_MEMBERSHIP_LIFE_SPAN_DAYS} (Customer Match refuses longer), not {life_span!r}",
            who_must_act=OWNER,
        )
    refresh = life_span // 3 if refresh_after_days is None else refresh_after_days
    if isinstance(refresh, bool) or not isinstance(refresh, int) or not 0 <= refresh < life_span:
        raise ConfigurationError(
            f"{backend}: refresh_after_days must be a whole number of days below membership_life_span_days "
            f"({life_span}), not {refresh!r}: a member must be re-sent before its membership lapses",
            who_must_act=OWNER,
        )
    return life_span, refresh
