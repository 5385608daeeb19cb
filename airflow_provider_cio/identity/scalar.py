"""The one-value API: normalize, hash, or prepare what the platform wants on the wire.

``hash_identifier`` always hashes (it is a hashing function, whatever the platform does with that kind);
``prepare`` returns what the platform expects for the kind: the hash for hashed kinds, the normalized value for plain
ones (Meta ``external_id``; Google ``country``, ``zip``, ``external_id``). Values that normalize to nothing give
``None`` and are never hashed.
"""

from __future__ import annotations

import hashlib

from airflow_provider_cio.identity.kinds import is_hashed
from airflow_provider_cio.identity.reasons import Dropped
from airflow_provider_cio.identity.registry import as_text, normalizer_for


def sha256_hex(normalized: str) -> str:
    """SHA-256 of the UTF-8 bytes, 64 lowercase hex characters."""
    return hashlib.sha256(normalized.encode()).hexdigest()


def normalize_with_reason(
    kind: str, value: object, *, platform: str, default_country: str | None = None
) -> tuple[str | None, str | None]:
    """``(normalized, None)`` or ``(None, reason)``, reason being e.g. ``"malformed_email"`` or ``"empty"``."""
    normalize = normalizer_for(kind, platform, default_country)
    text = as_text(value)
    result = normalize(text) if type(text) is str else text
    if isinstance(result, Dropped):
        return None, result.reason
    return result, None


def normalize(kind: str, value: object, *, platform: str, default_country: str | None = None) -> str | None:
    """The platform's normalized form of ``value``, or None if it is empty or invalid."""
    return normalize_with_reason(kind, value, platform=platform, default_country=default_country)[0]


def hash_identifier(
    kind: str, value: object, *, platform: str, default_country: str | None = None
) -> str | None:
    """SHA-256 hex of the normalized value, or None (never the hash of an empty string)."""
    normalized = normalize(kind, value, platform=platform, default_country=default_country)
    return None if normalized is None else sha256_hex(normalized)


def prepare(kind: str, value: object, *, platform: str, default_country: str | None = None) -> str | None:
    """What goes on the wire for this kind and platform: the hash for hashed kinds, the normalized text otherwise."""
    normalized = normalize(kind, value, platform=platform, default_country=default_country)
    if normalized is None or not is_hashed(kind, platform):
        return normalized
    return sha256_hex(normalized)
