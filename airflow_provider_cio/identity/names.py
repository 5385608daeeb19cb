"""First and last names.

Meta: lowercase, punctuation (and spaces) removed, letters of every script kept as UTF-8 ("José" -> "josé",
"O'Brien" -> "obrien", "李" -> "李"). The SDK's own helper keeps only a-z and so turns "José" into "jos".
Google: trimmed and lowercased, nothing removed. Both: Unicode NFC, so composed and decomposed accents agree.
"""

from __future__ import annotations

from functools import lru_cache

from airflow_provider_cio.identity.reasons import EMPTY, Dropped
from airflow_provider_cio.identity.text import clean, letters_only

_CACHE_SIZE = 1 << 16  # names repeat a lot; a bounded memo keeps the scalar path cheap too


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_name_meta(value: str) -> str | Dropped:
    """Lowercase letters only (any script), or ``empty``."""
    return letters_only(clean(value).lower()) or EMPTY


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_name_google(value: str) -> str | Dropped:
    """Trimmed and lowercased, or ``empty``."""
    return clean(value).lower() or EMPTY
