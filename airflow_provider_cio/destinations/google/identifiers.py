"""Turn a ``Member``'s pre-hashed identifiers into Google's shape, and refuse malformed ones before sending.

The identity layer already normalized and hashed per Google's rules (E.164 with ``+``, gmail dots removed); this
module never hashes. It checks what the platform would reject anyway - SHA-256 hex, a 2-letter region code - so one
bad row is reported by its index instead of failing a whole 10,000-member request (Data Manager rejects requests,
not rows, for format errors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_cio.sync.destination import Member

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

INVALID_SHA256 = "INVALID_SHA256_FORMAT"
NO_IDENTIFIERS = "NO_IDENTIFIERS"
CONSENT_NOT_GRANTED = "CONSENT_NOT_GRANTED"


@dataclass(frozen=True)
class Address:
    given_name: str  # sha256 hex
    family_name: str  # sha256 hex
    region_code: str  # ISO 3166-1 alpha-2, plain, upper case
    postal_code: str  # plain


@dataclass(frozen=True)
class GoogleIdentifiers:
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    address: Address | None = None

    def count(self) -> int:
        return len(self.emails) + len(self.phones) + (1 if self.address else 0)


def _hashed(values: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """Lower-cased hex values, and whether any value was malformed."""
    out: list[str] = []
    bad = False
    for value in values:
        lowered = value.strip().lower()
        if _SHA256_HEX.match(lowered):
            if lowered not in out:
                out.append(lowered)
        elif lowered:
            bad = True
    return tuple(out), bad


def extract(member: Member, *, max_identifiers: int) -> tuple[GoogleIdentifiers | None, str | None]:
    """Google identifiers of ``member`` capped at ``max_identifiers`` (emails, then phones, then the address).

    Returns ``(None, reason)`` when the member cannot be sent: a malformed hash anywhere (the platform would reject
    it; we reject the row, never a guess at which part is right) or nothing usable left.
    ``external_id`` is ignored: our lists are CONTACT_INFO lists, which cannot mix in CRM ids.
    """
    ids = member.identifiers
    emails, bad_email = _hashed(tuple(ids.get("email", ())))
    phones, bad_phone = _hashed(tuple(ids.get("phone", ())))
    first, bad_first = _hashed(tuple(ids.get("first_name", ())))
    last, bad_last = _hashed(tuple(ids.get("last_name", ())))
    if bad_email or bad_phone or bad_first or bad_last:
        return None, INVALID_SHA256
    address = None
    countries = [c.strip().upper() for c in ids.get("country", ()) if c.strip()]
    zips = [z.strip() for z in ids.get("zip", ()) if z.strip()]
    if first and last and countries and zips and re.fullmatch(r"[A-Z]{2}", countries[0]):
        address = Address(first[0], last[0], countries[0], zips[0])
    emails = emails[:max_identifiers]
    phones = phones[: max(0, max_identifiers - len(emails))]
    if address and len(emails) + len(phones) >= max_identifiers:
        address = None
    found = GoogleIdentifiers(emails, phones, address)
    if found.count() == 0:
        return None, NO_IDENTIFIERS
    return found, None
