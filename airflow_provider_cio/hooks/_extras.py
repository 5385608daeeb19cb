"""Connection extras: one spelling per key, validated once, with a clear error naming the connection."""

from __future__ import annotations

from typing import Any

from airflow_provider_cio.errors import CioError, ErrorClass


class ConnectionConfigError(CioError, ValueError):
    """A connection is missing a field or has an unknown one; the message names the connection and the field."""

    error_class = ErrorClass.CONFIGURATION


def read_extras(
    conn_id: str,
    extras: dict[str, Any],
    *,
    allowed: set[str],
    required: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    unknown = sorted(set(extras) - allowed)
    if unknown:
        raise ConnectionConfigError(
            f"connection {conn_id!r} has unknown extra field(s) {unknown}; allowed: {sorted(allowed)}"
        )
    missing = sorted(key for key in required if not extras.get(key))
    if missing:
        raise ConnectionConfigError(f"connection {conn_id!r} is missing required field(s) {missing}")
    return extras
