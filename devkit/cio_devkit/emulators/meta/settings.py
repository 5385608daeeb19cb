"""Knobs that make the Meta Graph emulator behave like Meta where our tests care, each with the doc it reads.

Timing. Meta accepts a membership edit at once and applies it later: "Changes to your Custom Audiences don't happen
immediately and usually take up to 24 hours. The number of records you request to remove ... will increase the
amount of time it takes to process this request" ("Customer File Custom Audiences",
https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences). No order between an add and a
removal is promised, so each operation has its own delay (``add_delay``, ``remove_delay``, ``replace_delay``,
seconds after acceptance): a removal sent before an add but with the longer delay is applied after it. The defaults
are 0 (applied at once) so tests that do not study timing stay simple; the devstack uses about a second.

Sizes. ``approximate_count_lower_bound`` / ``approximate_count_upper_bound`` are estimates
("Custom Audience" reference, https://developers.facebook.com/docs/marketing-api/reference/custom-audience): the
emulator refreshes them ``count_delay`` seconds after the membership changes, rounds them to ``count_digits``
significant digits (lower bound down, upper bound up after adding ``count_spread``) and reports ``-1`` for both below
``count_floor``. How Meta rounds is not documented; this is the emulator's reading, a setting.

Readings where the docs leave a choice open:

* ``removal_match``: how a ``DELETE /{id}/users`` row finds the people it removes. Meta matches uploaded rows to
  people and removes *people*, never single identifiers ("Custom Audience Users", DELETE,
  https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users). ``"extern_id"`` (default): a
  row with an EXTERN_ID removes that person only (the EXTERN_ID stands for the person Meta matched when it was
  uploaded: "External identifiers", same guide), a row without one removes whoever holds one of its hashed values.
  ``"any_key"``: a row also removes every person holding any of its hashed values. Either way a row naming a person
  by EXTERN_ID removes the whole person. (The default is also the cheap one: a 1M-member bench audience is not
  scanned for every removal row; tests run both.)
* ``replace_session_ttl``: seconds from a replace session's first batch until Meta drops it (Meta documents a time
  limit on replace sessions; the limit is a setting, ``None`` = never). A batch after that is answered with error
  2650 and ``replace_expired_subcode``.
* ``expired_replace_leaves``: what an expired replace session leaves on the audience: ``"previous"`` (the old
  membership, nothing of the session applied) or ``"partial"`` (the batches received so far replaced the audience).
* ``min_size_for_removal``: removals from an audience with fewer applied members than this are refused with error
  2650 / ``small_audience_subcode`` ("Meta refuses some removals from very small audiences"; audiences are usable
  from about 100 matched people, same guide). 0 = never refused.
* ``token_expires_at`` / ``token_data_access_expires_at`` (Unix seconds, 0 = never) and ``token_scopes``: what
  ``GET /debug_token`` says about the emulator's token ("Debug-Token", Graph API reference,
  https://developers.facebook.com/docs/graph-api/reference/debug_token/: "whether the token is still valid, when it
  expires, and what permissions the app has"). Whether 0 means "never" is the emulator's reading (system-user tokens
  show "Never" in the Access Token Debugger); the token keeps working past ``token_expires_at`` here, only
  ``debug_token`` reports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REMOVAL_MATCH_READINGS = ("any_key", "extern_id")
EXPIRED_REPLACE_READINGS = ("previous", "partial")
# Error 2650 is the Graph API's "failed to update the custom audience" service error (facebook-business
# ``FacebookErrorCodes.service_error``). The subcodes below are the emulator's, settings like the rest.
SERVICE_ERROR = 2650
REPLACE_EXPIRED_SUBCODE = 1870145
REPLACE_INTERRUPTED_SUBCODE = 1870147
SMALL_AUDIENCE_SUBCODE = 1870160


@dataclass
class MetaEmulatorSettings:
    add_delay: float = 0.0
    remove_delay: float = 0.0
    replace_delay: float = 0.0
    count_delay: float = 0.0
    count_floor: int = 0
    count_digits: int = 2
    count_spread: float = 0.0
    removal_match: str = "extern_id"
    replace_session_ttl: float | None = None
    expired_replace_leaves: str = "previous"
    replace_expired_subcode: int = REPLACE_EXPIRED_SUBCODE
    replace_interrupted_subcode: int = REPLACE_INTERRUPTED_SUBCODE
    min_size_for_removal: int = 0
    small_audience_subcode: int = SMALL_AUDIENCE_SUBCODE
    token_expires_at: int = 0
    token_data_access_expires_at: int = 0
    token_scopes: tuple[str, ...] = ("ads_management", "ads_read", "business_management")

    def __post_init__(self) -> None:
        if self.removal_match not in REMOVAL_MATCH_READINGS:
            raise ValueError(f"removal_match must be one of {REMOVAL_MATCH_READINGS}")
        if self.expired_replace_leaves not in EXPIRED_REPLACE_READINGS:
            raise ValueError(f"expired_replace_leaves must be one of {EXPIRED_REPLACE_READINGS}")

    def delay_for(self, operation: str) -> float:
        return {"add": self.add_delay, "remove": self.remove_delay, "replace": self.replace_delay}[operation]

    def bounds(self, size: int) -> tuple[int, int]:
        """The approximate count range reported for ``size`` applied members."""
        if size < self.count_floor:
            return -1, -1
        if size == 0:
            return 0, 0
        return _round(size, self.count_digits, math.floor), _round(
            size * (1.0 + self.count_spread), self.count_digits, math.ceil
        )


def _round(value: float, digits: int, how: object) -> int:
    scale = 10 ** max(0, int(math.log10(max(value, 1))) + 1 - digits)
    return int(how(value / scale)) * scale  # type: ignore[operator]
