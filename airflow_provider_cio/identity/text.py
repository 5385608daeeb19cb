"""Text clean-up shared by the normalizers: trimming, Unicode NFC, and keeping letters only.

ASCII input (the common case) takes cheap str methods; anything else goes through ``unicodedata`` once. The same
string always gets the same answer, so callers may memoize freely.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Invisible characters that sneak in from spreadsheets and web forms. ZWJ/ZWNJ are kept: some scripts need them.
_INVISIBLE: Final[dict[int, None]] = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"), None)
_ASCII_NON_LETTERS: Final = re.compile(r"[^a-z]+")


def clean(value: str) -> str:
    """Trim whitespace; for non-ASCII text also drop invisible characters and compose to NFC (one code point per
    accented letter), so "Zoë" typed with a combining diaeresis hashes like the precomposed one."""
    s = value.strip()
    if s.isascii():
        return s
    return unicodedata.normalize("NFC", s.translate(_INVISIBLE)).strip()


def letters_only(lowered: str) -> str:
    """Keep letters (any script) and the combining marks that belong to them; drop digits, spaces, punctuation.

    ``lowered`` is already lowercased; ASCII keeps a-z only, other scripts keep Unicode categories L* and M*.
    """
    if lowered.isascii():
        return _ASCII_NON_LETTERS.sub("", lowered)
    kept = "".join(ch for ch in lowered if unicodedata.category(ch)[0] in "LM")
    return unicodedata.normalize("NFC", kept)
