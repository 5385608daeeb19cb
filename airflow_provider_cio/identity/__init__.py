"""Identifier normalization and SHA-256 hashing per ad platform (Meta Custom Audiences, Google Customer Match).

Scalar: ``normalize``, ``normalize_with_reason``, ``hash_identifier`` (always hashes), ``prepare`` (hash or plain,
as the platform wants the kind on the wire), ``is_hashed``. Columns: ``normalize_column``, ``hash_column``,
``prepare_column`` -> ``ColumnResult(values, reasons)`` with the same answers as the scalar functions; for Arrow
columns ``hash_column_arrow``, ``prepare_column_arrow`` -> ``ArrowColumnResult(values, reasons)``, per row.
Kinds: email, phone, first_name, last_name, city, state, zip, country, external_id; platforms: meta, google.
"""

from airflow_provider_cio.identity.arrow_column import (
    ArrowColumnResult,
    hash_column_arrow,
    prepare_column_arrow,
)
from airflow_provider_cio.identity.column import ColumnResult, hash_column, normalize_column, prepare_column
from airflow_provider_cio.identity.kinds import KINDS, PLATFORMS, is_hashed, kinds_for
from airflow_provider_cio.identity.reasons import ALL_REASONS
from airflow_provider_cio.identity.scalar import (
    hash_identifier,
    normalize,
    normalize_with_reason,
    prepare,
    sha256_hex,
)

__all__ = [
    "ALL_REASONS",
    "ArrowColumnResult",
    "KINDS",
    "PLATFORMS",
    "ColumnResult",
    "hash_column",
    "hash_column_arrow",
    "hash_identifier",
    "is_hashed",
    "kinds_for",
    "normalize",
    "normalize_column",
    "normalize_with_reason",
    "prepare",
    "prepare_column",
    "prepare_column_arrow",
    "sha256_hex",
]
