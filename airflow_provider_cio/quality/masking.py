"""Sample failing values as on-call may see them: emails masked (``j***@example.com``), anything else hashed.

Samples go into reports, result files and messages; raw values never do, whatever the column holds.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from typing import Any

_EMAIL = re.compile(r"^([^@\s])[^@\s]*@([^@\s]+)$")
MAX_SAMPLES = 5


def mask_value(value: Any) -> str:
    """One value, safe to show: ``j***@example.com`` for email-shaped text, ``sha256:<10 hex>`` otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "<null>"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    match = _EMAIL.match(text)
    if match:
        return f"{match[1]}***@{match[2]}"
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def mask_samples(values: Iterable[Any], limit: int = MAX_SAMPLES) -> list[str]:
    """Distinct masked values, first seen first, at most ``limit``."""
    out: list[str] = []
    for value in values:
        masked = mask_value(value)
        if masked not in out:
            out.append(masked)
            if len(out) >= limit:
                break
    return out
