"""Members -> Meta multi-key rows (``payload = {"schema": [...], "data": [[...], ...]}``).

A member with several emails or phones becomes several rows that share its EXTERN_ID: row ``i`` carries the
``i``-th value of every multi-valued kind (empty string once a kind runs out) and the member's single-valued kinds
(names, city, state, zip, country) on every row. Meta merges rows with one EXTERN_ID into one person, so this is
``max(values per kind)`` rows instead of a cartesian product, and each row is still a complete multi-key match.
The column set of a request is the kinds present in that batch, in a fixed order, so batches are reproducible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from airflow_provider_cio.sync.destination import Member

EXTERN_ID = "EXTERN_ID"

# identifier kind (airflow_provider_cio.identity.kinds) -> Meta schema key, in the order columns are sent
KIND_TO_KEY: dict[str, str] = {
    "email": "EMAIL",
    "phone": "PHONE",
    "first_name": "FN",
    "last_name": "LN",
    "city": "CT",
    "state": "ST",
    "zip": "ZIP",
    "country": "COUNTRY",
}
MAX_ROWS_PER_REQUEST = 10_000
MAX_ROWS_PER_MEMBER = 10  # beyond this a member's extra values are dropped (counted, never logged)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def rows_for(member: Member) -> int:
    """How many rows ``member`` becomes (the weight the sync core batches by)."""
    longest = max((len(member.identifiers.get(kind, ())) for kind in KIND_TO_KEY), default=0)
    return min(MAX_ROWS_PER_MEMBER, max(1, longest))


def build_payload(batch: Sequence[Member], *, send_extern_id: bool = True) -> tuple[dict[str, list], int]:
    """Return ``(payload, unhashed_values)``; the caller refuses to send when any value is not SHA-256 hex.

    Meta wants every key but EXTERN_ID hashed; checking here means a raw email can never leave the process even
    if an upstream step forgot to hash.
    """
    kinds = [k for k in KIND_TO_KEY if any(m.identifiers.get(k) for m in batch)]
    schema = ([EXTERN_ID] if send_extern_id else []) + [KIND_TO_KEY[k] for k in kinds]
    data: list[list[str]] = []
    unhashed = 0
    fullmatch = _SHA256_HEX.fullmatch
    for member in batch:
        columns = [member.identifiers.get(k, ()) for k in kinds]
        for column in columns:
            for value in column:
                if not fullmatch(value):
                    unhashed += 1
        for i in range(rows_for(member)):
            row = [
                column[i] if i < len(column) else (column[0] if len(column) == 1 else "")
                for column in columns
            ]
            data.append(([member.customer_id] if send_extern_id else []) + row)
    return {"schema": schema, "data": data}, unhashed
