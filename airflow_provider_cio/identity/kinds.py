"""Which identifier kinds each platform takes, and which of them it wants hashed.

Meta (Custom Audiences multi-key schema): every key is SHA-256 of the normalized value except ``EXTERN_ID``, which
Meta accepts plain (hashing it is optional). We send external_id plain: the advertiser's own id is not PII that a
hash would protect, and plain ids keep matching against ids sent plain by the pixel or Conversions API.

Google (Data Manager API / Customer Match): email, phone, given name and family name are hashed; region code
(country) and postal code travel plain. external_id maps to Customer Match's CRM id (third-party user id), which is
sent plain. Google's address identifier has no city or state, so those kinds are refused for Google rather than
silently normalized to a shape nobody reads.
"""

from __future__ import annotations

from typing import Final

EMAIL: Final = "email"
PHONE: Final = "phone"
FIRST_NAME: Final = "first_name"
LAST_NAME: Final = "last_name"
CITY: Final = "city"
STATE: Final = "state"
ZIP: Final = "zip"
COUNTRY: Final = "country"
EXTERNAL_ID: Final = "external_id"

KINDS: Final[tuple[str, ...]] = (EMAIL, PHONE, FIRST_NAME, LAST_NAME, CITY, STATE, ZIP, COUNTRY, EXTERNAL_ID)

META: Final = "meta"
GOOGLE: Final = "google"
PLATFORMS: Final[tuple[str, ...]] = (META, GOOGLE)

_SUPPORTED: Final[dict[str, frozenset[str]]] = {
    META: frozenset(KINDS),
    GOOGLE: frozenset({EMAIL, PHONE, FIRST_NAME, LAST_NAME, ZIP, COUNTRY, EXTERNAL_ID}),
}

_HASHED: Final[dict[str, frozenset[str]]] = {
    META: frozenset(KINDS) - {EXTERNAL_ID},
    GOOGLE: frozenset({EMAIL, PHONE, FIRST_NAME, LAST_NAME}),
}


def check(kind: str, platform: str) -> None:
    """Raise ``ValueError`` naming the unknown kind or platform, or a kind the platform does not take."""
    if platform not in _SUPPORTED:
        raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind not in _SUPPORTED[platform]:
        raise ValueError(f"identifier kind {kind!r} is not used by platform {platform!r}")


def kinds_for(platform: str) -> tuple[str, ...]:
    """The kinds ``platform`` takes, in the canonical order of ``KINDS``."""
    if platform not in _SUPPORTED:
        raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    return tuple(k for k in KINDS if k in _SUPPORTED[platform])


def is_hashed(kind: str, platform: str) -> bool:
    """True when ``platform`` wants SHA-256 hex of the normalized value on the wire, False when it wants it plain."""
    check(kind, platform)
    return kind in _HASHED[platform]
