"""Email normalization, per platform.

Both platforms: trimmed, lowercased (``text.lower``), Unicode NFKC (``text.clean``), and an internationalized domain
in one form, Unicode: an ASCII-compatible label (``xn--...``, punycode) is decoded, so "exämple.com" and
"xn--exmple-cua.com" hash alike. Neither platform says which form it matches on; we keep the form people type
(and the one the rest of the address is in), and refuse an ``xn--`` label that is not valid punycode.

Meta, "Customer List Custom Audiences: hashing and normalizing data"
(https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences#hash): "Trim leading and
trailing whitespace and convert all characters to lowercase." Nothing about gmail: Meta's rule stops there.

Google, Data Manager API "Format user data"
(https://developers.google.com/data-manager/api/devguides/concepts/formatting), ``email_address``:
convert to lowercase; trim leading, trailing and intermediate whitespace; for gmail.com and googlemail.com remove
all dots before the @ and remove the plus sign and every character after it in the local part
("cloudy.sanfrancisco+shopping@gmail.com" -> "cloudysanfrancisco@gmail.com"); other domains keep their dots and
plus signs ("user.name+NYC@Example.com" -> "user.name+nyc@example.com"). Both Google APIs (Data Manager and
Google Ads Customer Match) reach the same lists, so one Google rule serves both.
"""

from __future__ import annotations

import re
from typing import Final

from airflow_provider_cio.identity.reasons import EMPTY, MALFORMED_EMAIL, Dropped
from airflow_provider_cio.identity.text import clean, lower, without_whitespace

# One @, a non-empty local part, a domain of non-empty dot-separated labels (at least one dot), no whitespace.
# Possessive quantifiers: the classes exclude the separators, so there is nothing to backtrack into.
_EMAIL: Final = re.compile(r"[^@\s]++@[^@\s.]++(?:\.[^@\s.]++)++")
_looks_like_email = _EMAIL.fullmatch
_WHITESPACE: Final = re.compile(r"\s").search
_GMAIL_DOMAINS: Final = frozenset({"gmail.com", "googlemail.com"})
_GMAIL_SUFFIXES: Final = ("@gmail.com", "@googlemail.com")
# IDNA label separators besides "." (UTS #46 maps them to "."; RFC 3490 section 3.1 lists them). NFKC already folds
# U+FF0E (full-width) to "." and U+FF61 (half-width) to U+3002, which is left for this table.
_IDEOGRAPHIC_FULL_STOP: Final[dict[int, str]] = {0x3002: "."}
_ACE_PREFIX: Final = "xn--"


def _unicode_label(label: str) -> str | None:
    """A domain label in Unicode form; ``None`` for an ``xn--`` label that is not a valid punycode U-label."""
    if not label.startswith(_ACE_PREFIX):
        return label
    try:
        decoded = label[len(_ACE_PREFIX) :].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return None
    # A real A-label encodes a non-ASCII label that is already lowercase NFKC (IDNA2008 refuses anything else).
    if not decoded or decoded.isascii() or lower(clean(decoded)) != decoded:
        return None
    return decoded


def _canonical(s: str) -> str | Dropped:
    """The address with its domain in Unicode form, or ``malformed_email`` if a domain label is broken punycode."""
    local, _, domain = s.rpartition("@")
    labels = [_unicode_label(label) for label in domain.split(".")]
    if any(label is None for label in labels):
        return MALFORMED_EMAIL
    return f"{local}@{'.'.join(labels)}"  # type: ignore[arg-type]


def _unicode_lowered(s: str) -> str:
    """NFKC, the ideographic full stop as a domain label separator, then lowercase: the non-ASCII path."""
    s = clean(s)
    if "\u3002" in s:  # a label separator in the domain only; the local part is left as written
        local, at, domain = s.rpartition("@")
        s = local + at + domain.translate(_IDEOGRAPHIC_FULL_STOP)
    return lower(s)


def _checked(s: str) -> str | Dropped:
    """``s`` (trimmed, lowercased) if it looks like an address, with its domain in Unicode form; or why not."""
    if not s:
        return EMPTY
    if _looks_like_email(s) is None:
        return MALFORMED_EMAIL
    return _canonical(s) if "xn--" in s else s


def normalize_email_meta(value: str) -> str | Dropped:
    """Trimmed, lowercased email (domain in Unicode form), or why not. Inner whitespace is malformed for Meta."""
    s = value.strip()
    s = s.lower() if s.isascii() else _unicode_lowered(s)
    if not s:
        return EMPTY
    if _looks_like_email(s) is None:
        return MALFORMED_EMAIL
    return _canonical(s) if "xn--" in s else s  # the literal: a constant load on the hot path


def normalize_email_google(value: str) -> str | Dropped:
    """Google's rule: no whitespace anywhere; gmail.com / googlemail.com lose the dots and the ``+tag`` of the
    local part."""
    s = value.strip()
    s = s.lower() if s.isascii() else _unicode_lowered(s)
    if _WHITESPACE(s) is not None:
        s = without_whitespace(s)
    result = _checked(s)
    if type(result) is str and result.endswith(_GMAIL_SUFFIXES):
        local, _, domain = result.rpartition("@")
        if domain in _GMAIL_DOMAINS:
            local = local.partition("+")[0].replace(".", "")
            if not local:
                return MALFORMED_EMAIL
            return f"{local}@{domain}"
    return result
