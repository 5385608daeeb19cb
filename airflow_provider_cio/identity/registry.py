"""Pick the normalizer for a (kind, platform, default country); the scalar and column paths both go through here,
which is what makes their answers identical."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from functools import lru_cache
from typing import Final

from airflow_provider_cio.identity import kinds as k
from airflow_provider_cio.identity.email import normalize_email_google, normalize_email_meta
from airflow_provider_cio.identity.location import (
    normalize_city,
    normalize_country_google,
    normalize_country_meta,
    normalize_external_id,
    normalize_state,
    normalize_zip,
)
from airflow_provider_cio.identity.names import (
    normalize_family_name_google,
    normalize_given_name_google,
    normalize_name_meta,
)
from airflow_provider_cio.identity.phone import make_phone_normalizer
from airflow_provider_cio.identity.reasons import EMPTY, NOT_A_STRING, Dropped

Normalizer = Callable[[str], str | Dropped]

_FIXED: Final[dict[tuple[str, str], Normalizer]] = {
    (k.EMAIL, k.META): normalize_email_meta,
    (k.EMAIL, k.GOOGLE): normalize_email_google,
    (k.FIRST_NAME, k.META): normalize_name_meta,
    (k.LAST_NAME, k.META): normalize_name_meta,
    (k.FIRST_NAME, k.GOOGLE): normalize_given_name_google,
    (k.LAST_NAME, k.GOOGLE): normalize_family_name_google,
    (k.CITY, k.META): normalize_city,
    (k.STATE, k.META): normalize_state,
    (k.ZIP, k.META): normalize_zip,
    (k.ZIP, k.GOOGLE): normalize_zip,
    (k.COUNTRY, k.META): normalize_country_meta,
    (k.COUNTRY, k.GOOGLE): normalize_country_google,
    (k.EXTERNAL_ID, k.META): normalize_external_id,
    (k.EXTERNAL_ID, k.GOOGLE): normalize_external_id,
}

# Kinds with few distinct values per column: the column path memoizes them (emails and phones are mostly unique,
# where a memo costs more than it saves).
REPEATING_KINDS: Final[frozenset[str]] = frozenset(
    {k.FIRST_NAME, k.LAST_NAME, k.CITY, k.STATE, k.ZIP, k.COUNTRY}
)


@lru_cache(maxsize=256)
def normalizer_for(kind: str, platform: str, default_country: str | None = None) -> Normalizer:
    """The normalizer function; raises ValueError for an unknown kind, platform, or default country."""
    k.check(kind, platform)
    if kind == k.PHONE:
        return make_phone_normalizer(platform, default_country)
    return _FIXED[(kind, platform)]


def as_text(value: object) -> str | Dropped:
    """Accept what columns really hold: None/NaN/pandas NA -> ``empty``; ints (phones, zips read as numbers, NumPy
    integers included) -> str; str subclasses -> str; anything else that is not a string -> ``not_a_string``
    (floats too: ``94105.0`` may have lost a leading zero or digits, so it is not guessed back)."""
    if value is None:
        return EMPTY
    if isinstance(value, str):
        # a str subclass (numpy.str_ from a NumPy array, an enum's value) becomes a plain str: the normalizers and
        # the column path tell a kept value from a drop by ``type(x) is str``
        return value if type(value) is str else str.__str__(value)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return NOT_A_STRING
    if isinstance(value, numbers.Integral):  # int, and NumPy's integer scalars
        return str(int(value))
    if isinstance(value, float) and math.isnan(value):
        return EMPTY
    if type(value).__name__ in ("NAType", "NaTType"):
        return EMPTY
    return NOT_A_STRING
