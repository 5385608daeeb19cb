"""Phone normalization without a full numbering-plan parser: a fast path for the shapes people actually type.

Accepted: ``+CC`` followed by digits with spaces, dashes, dots, slashes or parentheses; a ``(0)`` trunk marker after
the country code (dropped); the ``00`` international prefix; national numbers (``(650) 555-1212``,
``020 7123 4567``) when a default country is given, which adds its calling code and drops its trunk prefix.
Meta wants digits with the country code and no ``+``; Google wants E.164 with the ``+``.

Refused, with a reason: letters or extensions (``malformed_phone``), placeholder numbers (all one digit,
1234567890-style runs, ranges kept for fiction such as NANP 555-0100..0199, the reserved code +999:
``placeholder_phone``, see ``placeholders``), national numbers with no default country (``no_country_code``),
``+0...`` (``invalid_country_code``), fewer than 8 or more than 15 digits, or a NANP (+1) number whose national
part is not 10 digits (``too_short`` / ``too_long``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Final

from airflow_provider_cio.identity.countries import (
    KNOWN_CALLING_CODES,
    NANP_CODE,
    NANP_NATIONAL_DIGITS,
    TRUNK_ZERO_CODES,
    calling_code_for,
)
from airflow_provider_cio.identity.kinds import GOOGLE
from airflow_provider_cio.identity.placeholders import (
    FICTIONAL_PREFIXES_BY_LENGTH,
    NANP_FICTIONAL_EXCHANGE_LINE,
    has_reserved_country_code,
)
from airflow_provider_cio.identity.reasons import (
    EMPTY,
    INVALID_COUNTRY_CODE,
    MALFORMED_PHONE,
    NO_COUNTRY_CODE,
    PLACEHOLDER_PHONE,
    TOO_LONG,
    TOO_SHORT,
    Dropped,
)

MIN_DIGITS: Final = 8
MAX_DIGITS: Final = 15  # E.164

_SEPARATORS: Final = b" -.()/\t"
_UNICODE_DASHES: Final[dict[int, str]] = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-"
)
# Numbers typed when the real one is unknown: one digit repeated, or a 1234567890 / 9876543210 run (10+ digits, so
# that real short numbers such as Paris's 01 23 45 67 89 survive).
_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    [digit * n for digit in "0123456789" for n in range(1, MAX_DIGITS + 1)]
    + [run[:n] for run in ("123456789012345", "987654321098765") for n in range(10, MAX_DIGITS + 1)]
)


def _code_by_prefix() -> dict[str, str]:
    """Every 3-digit start of a number -> the table's calling code it begins with ("" if none): one dict lookup
    instead of trying 1-, 2- and 3-digit prefixes (calling codes are prefix-free, so the answer is unique)."""
    table: dict[str, str] = {}
    for n in range(1000):
        start = f"{n:03d}"
        table[start] = next((start[:size] for size in (1, 2, 3) if start[:size] in KNOWN_CALLING_CODES), "")
    return table


CODE_BY_PREFIX: Final[dict[str, str]] = _code_by_prefix()
# Code -> code followed by a misplaced trunk 0 ("44" -> "440"), for codes whose national numbers never start with 0.
_CODE_THEN_TRUNK_ZERO: Final[dict[str, str]] = {code: code + "0" for code in TRUNK_ZERO_CODES}


def _ascii_phone(s: str) -> str | None:
    """Fold full-width digits, Unicode dashes and spaces to ASCII; ``None`` if something else non-ASCII remains."""
    s = unicodedata.normalize("NFKC", s).translate(_UNICODE_DASHES)
    s = "".join(s.split())
    return s if s.isascii() else None


def make_phone_normalizer(platform: str, default_country: str | None) -> Callable[[str], str | Dropped]:
    """Build the phone normalizer for one platform and default country (validated now, not per value).

    Written for speed (this runs once per phone in a column): few operations on the common path, lookups in
    precomputed tables, and the rare shapes (non-ASCII, letters, empty) sent to ``not_digits``.
    """
    default = calling_code_for(default_country)
    default_code = default.code if default else ""
    default_trunk = default.trunk if default else ""
    plus = platform == GOOGLE
    code_by_prefix = CODE_BY_PREFIX
    code_then_zero = _CODE_THEN_TRUNK_ZERO
    placeholders = _PLACEHOLDERS
    nanp_fictional = NANP_FICTIONAL_EXCHANGE_LINE
    fictional_by_length = FICTIONAL_PREFIXES_BY_LENGTH

    def not_digits(value: str) -> str | Dropped:
        s = value.strip()
        if not s:
            return EMPTY
        if s.isascii():
            return MALFORMED_PHONE
        folded = _ascii_phone(s)
        return normalize_phone(folded) if folded else MALFORMED_PHONE

    def normalize_phone(value: str) -> str | Dropped:
        s = value.strip()
        if "(0)" in s:
            s = s.replace("(0)", "")
        raw = s.encode().translate(None, _SEPARATORS)
        if raw[:1] == b"+":
            raw = raw[1:]
            international = True
        elif raw[:2] == b"00":
            raw = raw[2:]
            international = True
        else:
            international = False
        if not raw.isdigit():
            return not_digits(value)
        digits = raw.decode()
        if digits in placeholders:
            return PLACEHOLDER_PHONE
        if international:
            if digits[0] == "0":
                return INVALID_COUNTRY_CODE
            code = code_by_prefix.get(digits[:3], "")
            code_zero = code_then_zero.get(code)
            if code_zero and digits.startswith(code_zero):
                digits = code + digits[len(code_zero) :]
        elif default_code:
            code = default_code
            if code == NANP_CODE:
                if len(digits) == NANP_NATIONAL_DIGITS + 1 and digits[0] == "1":
                    digits = digits[1:]
            elif default_trunk and digits.startswith(default_trunk):
                digits = digits[len(default_trunk) :]
            digits = code + digits
        else:
            return NO_COUNTRY_CODE
        size = len(digits)
        if size < MIN_DIGITS:
            return TOO_SHORT
        if size > MAX_DIGITS:
            return TOO_LONG
        if code:
            national = digits[len(code) :]
            if national in placeholders:
                return PLACEHOLDER_PHONE
            if code == NANP_CODE:
                if size < NANP_NATIONAL_DIGITS + 1:
                    return TOO_SHORT
                if size > NANP_NATIONAL_DIGITS + 1:
                    return TOO_LONG
                if national[0] in "01":
                    return MALFORMED_PHONE
                if national[3:8] == nanp_fictional:
                    return PLACEHOLDER_PHONE
            elif code in fictional_by_length:  # is_fictional, inlined: this runs once per phone
                prefixes = fictional_by_length[code].get(len(national))
                if prefixes is not None and national.startswith(prefixes):
                    return PLACEHOLDER_PHONE
        elif (
            digits[1:] in placeholders
            or digits[2:] in placeholders
            or digits[3:] in placeholders
            or has_reserved_country_code(digits)
        ):
            return PLACEHOLDER_PHONE
        return "+" + digits if plus else digits

    return normalize_phone
