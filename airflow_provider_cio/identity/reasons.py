"""Why a value was dropped: one small object per reason, so hot loops can tell a drop from a value by type.

The normalizers return either the normalized ``str`` or one of these ``Dropped`` singletons; the public functions
turn that into ``None`` plus a reason name that the column path counts.
"""

from __future__ import annotations

from typing import Final


class Dropped:
    """A value that will not be sent, with the reason (a stable, PII-free name such as ``"malformed_email"``)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Dropped({self.reason!r})"


EMPTY: Final = Dropped("empty")
NOT_A_STRING: Final = Dropped("not_a_string")
MALFORMED_EMAIL: Final = Dropped("malformed_email")
MALFORMED_PHONE: Final = Dropped("malformed_phone")
PLACEHOLDER_PHONE: Final = Dropped("placeholder_phone")
NO_COUNTRY_CODE: Final = Dropped("no_country_code")
INVALID_COUNTRY_CODE: Final = Dropped("invalid_country_code")
TOO_SHORT: Final = Dropped("too_short")
TOO_LONG: Final = Dropped("too_long")
UNKNOWN_COUNTRY: Final = Dropped("unknown_country")

ALL_REASONS: Final[tuple[str, ...]] = tuple(
    d.reason
    for d in (
        EMPTY,
        NOT_A_STRING,
        MALFORMED_EMAIL,
        MALFORMED_PHONE,
        PLACEHOLDER_PHONE,
        NO_COUNTRY_CODE,
        INVALID_COUNTRY_CODE,
        TOO_SHORT,
        TOO_LONG,
        UNKNOWN_COUNTRY,
    )
)
