"""Text clean-up shared by the normalizers: trimming, Unicode NFKC, lowercasing, and keeping letters only.

ASCII input (the common case) takes cheap str methods; anything else goes through ``unicodedata`` once. The same
string always gets the same answer, so callers may memoize freely.

Why NFKC and not NFC: neither platform names a Unicode form (Meta asks for "special characters in UTF-8", Google
for lowercase text), so we pick the one canonical form under which the spellings of one value that people and
input methods really produce agree: composed and decomposed accents (NFC already did that), full-width Latin letters
and digits from CJK keyboards ("Ｊｏｈｎ" -> "John"), half-width katakana ("ｶﾀｶﾅ" -> "カタカナ"), ligatures
("ﬁ" -> "fi"). These are compatibility variants of one character, never a different name or address.
Case: we lowercase (``str.lower``, what both platforms ask), not full case folding, which would also rewrite
"ß" -> "ss" and the Greek final sigma; the one exception is Turkish/Azeri "İ" (U+0130), see ``lower``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Invisible characters that sneak in from spreadsheets and web forms. ZWJ/ZWNJ are kept: some scripts need them.
_INVISIBLE: Final[dict[int, None]] = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"), None)
_ASCII_NON_LETTERS: Final = re.compile(r"[^a-z]+")
_CAPITAL_I_WITH_DOT: Final = "\u0130"


def clean(value: str) -> str:
    """Trim whitespace; for non-ASCII text also drop invisible characters and apply NFKC (one code point per
    accented letter, compatibility variants folded), so "Zoë" typed with a combining diaeresis or "Ｚｏë" typed
    full-width hash like the plain one."""
    s = value.strip()
    if s.isascii():
        return s
    return unicodedata.normalize("NFKC", s.translate(_INVISIBLE)).strip()


def lower(value: str) -> str:
    """Lowercase, with Turkish "İ" -> "i".

    ``str.lower`` turns "İ" into "i" + U+0307 (a combining dot), so "İLKER" and "ilker", one Turkish name, would
    hash apart; Unicode's Turkic case mapping (SpecialCasing.txt, CaseFolding.txt status T) maps it to plain "i".
    Outside Turkish and Azeri the letter does not occur in names or addresses. Dotless "ı" stays as written: which
    of "I"/"ı" a writer meant cannot be told without the language, so "IŞIK" and "Işık" still differ.
    """
    if value.isascii():
        return value.lower()
    lowered = value.replace(_CAPITAL_I_WITH_DOT, "i").lower()
    return unicodedata.normalize("NFKC", lowered)


def without_whitespace(s: str) -> str:
    """Every whitespace character removed. NFKC can turn a spacing accent into a space and a combining mark
    ("´" -> " " + U+0301); once the space is gone the mark composes with the letter before it, so the result is
    normalized again: the same value must come back when it is normalized a second time."""
    squeezed = "".join(s.split())
    return squeezed if squeezed.isascii() else unicodedata.normalize("NFKC", squeezed)


def letters_only(lowered: str) -> str:
    """Keep letters (any script) and the combining marks that belong to them; drop digits, spaces, punctuation.

    ``lowered`` is already lowercased; ASCII keeps a-z only, other scripts keep Unicode categories L* and M*.
    """
    if lowered.isascii():
        return _ASCII_NON_LETTERS.sub("", lowered)
    kept = "".join(ch for ch in lowered if unicodedata.category(ch)[0] in "LM")
    return unicodedata.normalize("NFKC", kept)
