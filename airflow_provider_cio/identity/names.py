"""First and last names, per platform.

Meta, "Customer List Custom Audiences: hashing and normalizing data"
(https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences#hash), FN / LN: "a-z only,
lowercase, no punctuation; special characters in UTF-8 format". We read "special characters" as letters of every
script kept as UTF-8 ("José" -> "josé", "O'Brien" -> "obrien", "李" -> "李"): the SDK's own helper keeps only a-z
and so turns "José" into "jos". Meta says nothing about titles or suffixes, so "Dr. Smith Jr." keeps them
("drsmithjr").

Google, Data Manager API "Format user data"
(https://developers.google.com/data-manager/api/devguides/concepts/formatting), ``given_name``: "Convert to
lowercase. Don't include prefixes such as Mrs."; ``family_name``: "Convert to lowercase. Don't include suffixes
such as Jr."; both: trim leading and trailing whitespace. Accents are kept (Google's own template file shows
"zoë", "pérez"). We also squeeze runs of inner whitespace to one space (Google Ads Help's customer file template:
"remove all extra spaces"). The titles and suffixes we remove are the common English ones; a name that is nothing
but one ("Dr") is kept as written rather than emptied.

Both: Unicode NFKC and Turkish-aware lowercase (``text``), so composed/decomposed accents and full-width letters
agree.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from airflow_provider_cio.identity.reasons import EMPTY, Dropped
from airflow_provider_cio.identity.text import clean, letters_only, lower

_CACHE_SIZE = 1 << 16  # names repeat a lot; a bounded memo keeps the scalar path cheap too
# Lowercased; an optional dot; at least one more word after it.
_PREFIX: Final = re.compile(r"(?:mr|mrs|ms|miss|mx|dr|prof)\.?\s+(?=\S)")
# At least one word before it; a comma or whitespace, the suffix, an optional dot, the end.
_SUFFIX: Final = re.compile(r"(?<=\S)(?:\s*,\s*|\s+)(?:jr|sr|ii|iii|iv)\.?$")


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_name_meta(value: str) -> str | Dropped:
    """Lowercase letters only (any script), or ``empty``."""
    return letters_only(lower(clean(value))) or EMPTY


def _google_text(value: str) -> str:
    return " ".join(lower(clean(value)).split())


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_given_name_google(value: str) -> str | Dropped:
    """Trimmed, lowercased, inner whitespace squeezed, a leading title ("Mrs.", "Dr") removed; or ``empty``."""
    s = _google_text(value)
    while (match := _PREFIX.match(s)) is not None:  # "Dr. Mrs. Jane": every title goes
        s = s[match.end() :]
    return s or EMPTY


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_family_name_google(value: str) -> str | Dropped:
    """Trimmed, lowercased, inner whitespace squeezed, a trailing generational suffix ("Jr.", "III") removed; or
    ``empty``."""
    s = _google_text(value)
    while (match := _SUFFIX.search(s)) is not None:  # "Smith Jr. III": every suffix goes
        s = s[: match.start()]
    return s or EMPTY
