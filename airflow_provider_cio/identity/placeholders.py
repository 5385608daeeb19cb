"""Phone numbers that belong to nobody: ranges numbering plans keep for fiction, and reserved country codes.

A CRM fills these in when the real number is unknown (tests, demo accounts, forms that insist on a number).
Hashing one sends an identifier that can match nobody, or anyone else who typed the same fake, and lowers the
match rate the on-call reads. So a fictional number becomes no identifier, counted as ``placeholder_phone`` like
the typed placeholders (all one digit, 1234567890 runs) in ``phone``.

Sources (each range below cites its own):
- NANP (+1): "555-0100 through 555-0199 are now reserved for fictional use, with the other numbers having been
  released for assignment" (Wikipedia, "Fictitious telephone number" / NANPA). 555-1212 and other 555 lines stay
  valid: they can be assigned, and 555-1212 is the platforms' own published example.
- ITU-T E.164: country code 999 is reserved (spare, "reserved for future global service"; ITU-T E.164
  assigned country codes list). Not confirmed through a fetched ITU page.
- UK (+44), Ofcom's "telephone numbers for drama purposes" list: 07700 900000-900999 (mobile), the 01632
  fictional area code, the city blocks "area code + 496 0xxx", London 020 7946 0xxx. Read through BBC News, "The
  20,000 fake phone numbers used on film and television" (http://www.bbc.com/news/blogs-magazine-monitor-32348371)
  and press copies of the list. Ofcom's own page was not fetched: the exact city list and London's block are not
  confirmed by a fetched source.
- Australia (+61), ACMA "Fictitious numbers for radio, books, film & TV" (version of 2009-10-21, as quoted by
  Wikipedia, "Fictitious telephone number"): (0x) 5550 xxxx and (0x) 7010 xxxx for x in 2, 3, 7, 8; mobiles
  0491 570 110 and 0491 570 156-159; 1800 160 401, 1800 975 707, 1900 654 321.
"""

from __future__ import annotations

from typing import Final

RESERVED_COUNTRY_CODES: Final[tuple[str, ...]] = ("999",)

NANP_FICTIONAL_EXCHANGE_LINE: Final = (
    "55501"  # NXX 555, line 01xx: digits 4-8 of the 10-digit national number
)

_UK_CITY_CODES: Final = ("113", "114", "115", "116", "117", "118", "121", "131", "141", "151", "161")

# Calling code -> (national significant number prefix, national significant number length) pairs.
_RANGES: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "44": (
        ("7700900", 10),  # 07700 900xxx
        ("1632", 10),  # 01632 xxxxxx: a fictional area
        ("2079460", 10),  # 020 7946 0xxx
        *((code + "4960", 10) for code in _UK_CITY_CODES),  # 0113 496 0xxx ... 0161 496 0xxx
    ),
    "61": (
        *(
            (area + block, 9) for area in "2378" for block in ("5550", "7010")
        ),  # (0x) 5550 xxxx, (0x) 7010 xxxx
        *((number, 9) for number in ("491570110", "491570156", "491570157", "491570158", "491570159")),
        ("1800160401", 10),
        ("1800975707", 10),
        ("1900654321", 10),
    ),
}


def _by_length() -> dict[str, dict[int, tuple[str, ...]]]:
    """Code -> national number length -> prefixes: one ``str.startswith`` call per number on the hot path."""
    table: dict[str, dict[int, tuple[str, ...]]] = {}
    for code, ranges in _RANGES.items():
        for prefix, length in ranges:
            lengths = table.setdefault(code, {})
            lengths[length] = (*lengths.get(length, ()), prefix)
    return table


# Calling code (other than NANP) -> national number length -> prefixes of the fictional ranges of that length.
FICTIONAL_PREFIXES_BY_LENGTH: Final[dict[str, dict[int, tuple[str, ...]]]] = _by_length()


def is_fictional(code: str, national: str) -> bool:
    """True for a national number (digits after the calling code) in a range kept for fiction."""
    if code == "1":
        return len(national) == 10 and national[3:8] == NANP_FICTIONAL_EXCHANGE_LINE
    lengths = FICTIONAL_PREFIXES_BY_LENGTH.get(code)
    if lengths is None:
        return False
    prefixes = lengths.get(len(national))
    return prefixes is not None and national.startswith(prefixes)


def has_reserved_country_code(digits: str) -> bool:
    """True for international digits (no ``+``) that start with a reserved, never-assigned country code."""
    return digits.startswith(RESERVED_COUNTRY_CODES)
