"""Country facts the normalizers need: ISO 3166-1 alpha-2 codes, common country names, and calling codes.

The calling-code table is deliberately small (the major markets): it is used to add a country code to national
numbers given a default country, and to drop a misplaced national trunk ``0`` written after a country code
(``+44 (0)20 ...``). International numbers with a code outside the table are still accepted as written.
"""

from __future__ import annotations

from typing import Final, NamedTuple

_ISO2_TEXT: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO
    JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR
    MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
    RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV
    TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO2_CODES: Final[frozenset[str]] = frozenset(_ISO2_TEXT.split())

# Names people type, squeezed (lowercase, letters only) -> ISO-2. Covers the major markets, not the world.
COUNTRY_ALIASES: Final[dict[str, str]] = {
    "unitedstates": "US",
    "unitedstatesofamerica": "US",
    "usa": "US",
    "america": "US",
    "unitedkingdom": "GB",
    "uk": "GB",
    "greatbritain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northernireland": "GB",
    "gbr": "GB",
    "canada": "CA",
    "can": "CA",
    "germany": "DE",
    "deutschland": "DE",
    "deu": "DE",
    "france": "FR",
    "fra": "FR",
    "spain": "ES",
    "españa": "ES",
    "espana": "ES",
    "esp": "ES",
    "italy": "IT",
    "italia": "IT",
    "ita": "IT",
    "netherlands": "NL",
    "thenetherlands": "NL",
    "holland": "NL",
    "nederland": "NL",
    "nld": "NL",
    "belgium": "BE",
    "belgië": "BE",
    "belgique": "BE",
    "bel": "BE",
    "austria": "AT",
    "österreich": "AT",
    "aut": "AT",
    "switzerland": "CH",
    "schweiz": "CH",
    "suisse": "CH",
    "che": "CH",
    "sweden": "SE",
    "sverige": "SE",
    "swe": "SE",
    "norway": "NO",
    "norge": "NO",
    "nor": "NO",
    "denmark": "DK",
    "danmark": "DK",
    "dnk": "DK",
    "finland": "FI",
    "suomi": "FI",
    "fin": "FI",
    "ireland": "IE",
    "éire": "IE",
    "irl": "IE",
    "portugal": "PT",
    "prt": "PT",
    "poland": "PL",
    "polska": "PL",
    "pol": "PL",
    "australia": "AU",
    "aus": "AU",
    "newzealand": "NZ",
    "nzl": "NZ",
    "japan": "JP",
    "jpn": "JP",
    "brazil": "BR",
    "brasil": "BR",
    "bra": "BR",
    "mexico": "MX",
    "méxico": "MX",
    "mex": "MX",
    "india": "IN",
    "ind": "IN",
    "southafrica": "ZA",
    "singapore": "SG",
    "hongkong": "HK",
    "southkorea": "KR",
    "korea": "KR",
    "china": "CN",
    "israel": "IL",
    "turkey": "TR",
    "türkiye": "TR",
    "unitedarabemirates": "AE",
    "uae": "AE",
    "argentina": "AR",
    "colombia": "CO",
    "chile": "CL",
    "greece": "GR",
    "czechrepublic": "CZ",
    "czechia": "CZ",
    "romania": "RO",
    "luxembourg": "LU",
}


class CallingCode(NamedTuple):
    """A country's calling code and the national trunk prefix written before national numbers ("" for none)."""

    code: str
    trunk: str


# Default-country table: ISO-2 -> calling code and national trunk prefix.
CALLING_CODES: Final[dict[str, CallingCode]] = {
    "US": CallingCode("1", "1"),
    "CA": CallingCode("1", "1"),
    "GB": CallingCode("44", "0"),
    "DE": CallingCode("49", "0"),
    "FR": CallingCode("33", "0"),
    "ES": CallingCode("34", ""),
    "IT": CallingCode("39", ""),
    "NL": CallingCode("31", "0"),
    "BE": CallingCode("32", "0"),
    "AT": CallingCode("43", "0"),
    "CH": CallingCode("41", "0"),
    "SE": CallingCode("46", "0"),
    "NO": CallingCode("47", ""),
    "DK": CallingCode("45", ""),
    "FI": CallingCode("358", "0"),
    "IE": CallingCode("353", "0"),
    "PT": CallingCode("351", ""),
    "PL": CallingCode("48", ""),
    "AU": CallingCode("61", "0"),
    "NZ": CallingCode("64", "0"),
    "JP": CallingCode("81", "0"),
    "BR": CallingCode("55", "0"),
    "MX": CallingCode("52", ""),
    "IN": CallingCode("91", "0"),
    "ZA": CallingCode("27", "0"),
    "SG": CallingCode("65", ""),
    "HK": CallingCode("852", ""),
    "AE": CallingCode("971", "0"),
    "IL": CallingCode("972", "0"),
    "TR": CallingCode("90", "0"),
    "KR": CallingCode("82", "0"),
    "CN": CallingCode("86", "0"),
    "GR": CallingCode("30", ""),
    "CZ": CallingCode("420", ""),
    "RO": CallingCode("40", "0"),
    "LU": CallingCode("352", ""),
    "RU": CallingCode("7", "8"),
}

# Calling codes known to the table (prefix-free, so at most one matches the start of a number).
KNOWN_CALLING_CODES: Final[frozenset[str]] = frozenset(c.code for c in CALLING_CODES.values())

# Codes whose national numbers never start with 0: a 0 written right after them is a misplaced trunk prefix.
TRUNK_ZERO_CODES: Final[frozenset[str]] = frozenset(c.code for c in CALLING_CODES.values() if c.trunk == "0")

NANP_CODE: Final = "1"
NANP_NATIONAL_DIGITS: Final = 10


def calling_code_for(default_country: str | None) -> CallingCode | None:
    """The calling code of an ISO-2 default country (any case); ``None`` for no default; ValueError if unknown."""
    if default_country is None:
        return None
    found = CALLING_CODES.get(default_country.strip().upper())
    if found is None:
        raise ValueError(
            f"default_country {default_country!r} is not in the calling-code table; "
            f"supported: {', '.join(sorted(CALLING_CODES))}"
        )
    return found
