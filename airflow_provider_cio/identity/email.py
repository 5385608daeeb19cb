"""Email normalization: trim and lowercase (both platforms), plus Google's gmail dot rule.

Google removes dots before the @ for gmail.com and googlemail.com addresses; it does not strip ``+suffix``, and Meta
has no gmail rule at all, so neither do we.
"""

from __future__ import annotations

import re
from typing import Final

from airflow_provider_cio.identity.reasons import EMPTY, MALFORMED_EMAIL, Dropped
from airflow_provider_cio.identity.text import clean

# One @, a non-empty local part, a domain of non-empty dot-separated labels (at least one dot), no whitespace.
# Possessive quantifiers: the classes exclude the separators, so there is nothing to backtrack into.
_EMAIL: Final = re.compile(r"[^@\s]++@[^@\s.]++(?:\.[^@\s.]++)++")
_looks_like_email = _EMAIL.fullmatch
_GMAIL_SUFFIXES: Final = ("@gmail.com", "@googlemail.com")


def normalize_email_meta(value: str) -> str | Dropped:
    """Trimmed, lowercased email, or why not."""
    s = value.strip()
    if not s.isascii():
        s = clean(s)
    if not s:
        return EMPTY
    s = s.lower()
    if _looks_like_email(s) is None:
        return MALFORMED_EMAIL
    return s


def normalize_email_google(value: str) -> str | Dropped:
    """Meta's rule plus: gmail.com / googlemail.com addresses lose the dots before the @."""
    s = normalize_email_meta(value)
    if type(s) is str and s.endswith(_GMAIL_SUFFIXES):
        local, _, domain = s.partition("@")
        local = local.replace(".", "")
        if not local:
            return MALFORMED_EMAIL
        return f"{local}@{domain}"
    return s
