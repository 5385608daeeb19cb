"""Deterministic holdout assignment: a salted SHA-256 of the customer id, so membership is stable across runs,
machines and engines (the Python and SQL versions compute the same integer and compare it the same way).

bucket = the first 15 hex digits (60 bits) of sha256("{salt}:{customer_id}"), an integer in [0, 2**60);
a customer is held out when bucket < floor(share * 2**60). Each program has its own salt, so being held out of one
program says nothing about another, and changing a share only moves the customers at the margin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

BUCKET_BITS: Final = 60
BUCKET_SPACE: Final = 1 << BUCKET_BITS
_HEX_DIGITS: Final = BUCKET_BITS // 4


@dataclass(frozen=True)
class HoldoutPolicy:
    """One program's holdout: ``share`` of customers (0..1) never enter its ad audiences."""

    program: str
    salt: str
    share: float

    def __post_init__(self) -> None:
        if not self.salt:
            raise ValueError(f"holdout for program {self.program!r}: salt must not be empty")
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"holdout for program {self.program!r}: share {self.share} is not within 0..1")

    @property
    def threshold(self) -> int:
        return holdout_threshold(self.share)

    def contains(self, customer_id: str) -> bool:
        return in_holdout(customer_id, salt=self.salt, share=self.share)

    def sql(self, column: str = "customer_id") -> str:
        return holdout_sql(column, salt=self.salt, share=self.share)

    def describe(self) -> dict[str, object]:
        """PII-free description for stats: the salt itself is shown only as a short hash."""
        return {
            "program": self.program,
            "share": self.share,
            "salt_sha256_prefix": hashlib.sha256(self.salt.encode()).hexdigest()[:8],
        }


def holdout_threshold(share: float) -> int:
    """Buckets below this are held out; exact for share 0 (nobody) and 1 (everybody)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"holdout share {share} is not within 0..1")
    return int(share * BUCKET_SPACE)


def holdout_bucket(customer_id: str, *, salt: str) -> int:
    """The customer's bucket in [0, 2**60) for this salt."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).hexdigest()
    return int(digest[:_HEX_DIGITS], 16)


def in_holdout(customer_id: str, *, salt: str, share: float) -> bool:
    """True when the customer is in the program's holdout group."""
    return holdout_bucket(customer_id, salt=salt) < holdout_threshold(share)


def holdout_mask(customer_ids: Iterable[str], *, salt: str, share: float) -> list[bool]:
    """``in_holdout`` over many ids (the threshold and the hash constructor are resolved once)."""
    threshold = holdout_threshold(share)
    sha256 = hashlib.sha256
    prefix = f"{salt}:"
    return [
        int(sha256((prefix + cid).encode()).hexdigest()[:_HEX_DIGITS], 16) < threshold for cid in customer_ids
    ]


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def holdout_sql(column: str, *, salt: str, share: float) -> str:
    """A DuckDB boolean expression equal to ``in_holdout(column)``; ``column`` is an SQL expression we control."""
    threshold = holdout_threshold(share)
    key = f"{_sql_string(salt + ':')} || CAST({column} AS VARCHAR)"
    bucket = f"CAST('0x' || substr(sha256({key}), 1, {_HEX_DIGITS}) AS BIGINT)"
    return f"({bucket} < CAST({threshold} AS HUGEINT))"
