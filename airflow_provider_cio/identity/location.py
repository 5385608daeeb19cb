"""City, state, postal code and country.

Meta: city lowercase letters only (no spaces, punctuation or digits); state the two-letter code, lowercase, for US
states (full names accepted), otherwise lowercase letters only; zip lowercase without spaces, US ZIP+4 cut to the
first 5 digits; country ISO-2 lowercase. Google sends country (``region_code``, ISO-2 uppercase) and postal code plain;
it gets the same postal-code normalization as Meta.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from airflow_provider_cio.identity.countries import COUNTRY_ALIASES, ISO2_CODES
from airflow_provider_cio.identity.reasons import EMPTY, UNKNOWN_COUNTRY, Dropped
from airflow_provider_cio.identity.text import clean, letters_only, lower, without_whitespace
from airflow_provider_cio.identity.us_states import US_STATE_CODES

_CACHE_SIZE: Final = 1 << 16
_US_ZIP_PLUS_4: Final = re.compile(r"(\d{5})-?\d{4}")


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_city(value: str) -> str | Dropped:
    """Lowercase letters only: "San Francisco" -> "sanfrancisco", "München" -> "münchen"."""
    return letters_only(lower(clean(value))) or EMPTY


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_state(value: str) -> str | Dropped:
    """US states as lowercase 2-letter codes ("California" -> "ca"); elsewhere lowercase letters only."""
    squeezed = letters_only(lower(clean(value)))
    if not squeezed:
        return EMPTY
    return US_STATE_CODES.get(squeezed, squeezed)


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_zip(value: str) -> str | Dropped:
    """Lowercase, no whitespace; a US ZIP+4 ("94105-1234", "941051234") keeps its first 5 digits."""
    s = without_whitespace(lower(clean(value)))
    if not s:
        return EMPTY
    plus_4 = _US_ZIP_PLUS_4.fullmatch(s)
    return plus_4.group(1) if plus_4 else s


@lru_cache(maxsize=_CACHE_SIZE)
def _country_code(value: str) -> str | Dropped:
    squeezed = letters_only(lower(clean(value)))
    if not squeezed:
        return EMPTY
    if len(squeezed) == 2 and squeezed.upper() in ISO2_CODES:
        return squeezed.upper()
    return COUNTRY_ALIASES.get(squeezed, UNKNOWN_COUNTRY)


def normalize_country_meta(value: str) -> str | Dropped:
    """ISO-2 lowercase: "US", "USA", "United States" -> "us"; "UK" -> "gb"."""
    code = _country_code(value)
    return code.lower() if type(code) is str else code


def normalize_country_google(value: str) -> str | Dropped:
    """ISO-2 uppercase (Google's ``region_code``)."""
    return _country_code(value)


def normalize_external_id(value: str) -> str | Dropped:
    """Trimmed only: the id must stay byte-for-byte what the advertiser's systems use."""
    return value.strip() or EMPTY
