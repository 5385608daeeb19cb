"""The whole-column API: same answers as the scalar functions, a counted report of why values were dropped.

One pass in Python per column: the per-kind normalizer is resolved once, repeating kinds (names, places) are
memoized per column, and hashing is ``hashlib.sha256`` per kept value (the standard library has nothing faster, and
pyarrow.compute has no SHA-256). Dropped values come back as ``None`` in their position and never fail the batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from airflow_provider_cio.identity.kinds import is_hashed
from airflow_provider_cio.identity.reasons import Dropped
from airflow_provider_cio.identity.registry import REPEATING_KINDS, Normalizer, as_text, normalizer_for


@dataclass(frozen=True, slots=True)
class ColumnResult:
    """``values`` aligned with the input (None where dropped) and ``reasons``: drop reason -> count."""

    values: list[str | None]
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def dropped(self) -> int:
        return sum(self.reasons.values())

    @property
    def kept(self) -> int:
        return len(self.values) - self.dropped


def _as_list(values: Iterable[object]) -> list[object]:
    """Lists pass through; pyarrow arrays and chunked arrays become Python lists once; other iterables are listed."""
    if isinstance(values, list):
        return values
    to_pylist = getattr(values, "to_pylist", None)
    if to_pylist is not None:
        return list(to_pylist())
    return list(values)


def _run(values: Iterable[object], normalize: Normalizer, *, hashed: bool, memoize: bool) -> ColumnResult:
    items = _as_list(values)
    out: list[str | None] = []
    keep = out.append
    reasons: dict[str, int] = {}
    sha256 = hashlib.sha256
    memo: dict[str, str | Dropped] = {}
    recall = memo.get
    for value in items:
        if type(value) is str:
            result = recall(value) if memoize else None
            if result is None:
                result = normalize(value)
                if hashed and type(result) is str:
                    result = sha256(result.encode()).hexdigest()
                if memoize:
                    memo[value] = result
        else:
            text = as_text(value)
            result = normalize(text) if type(text) is str else text
            if hashed and type(result) is str:
                result = sha256(result.encode()).hexdigest()
        if type(result) is str:
            keep(result)
        else:
            keep(None)
            reason = result.reason  # type: ignore[union-attr]
            reasons[reason] = reasons.get(reason, 0) + 1
    return ColumnResult(out, reasons)


def normalize_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``normalize`` over a column (list, tuple, pyarrow array, pandas Series)."""
    normalize = normalizer_for(kind, platform, default_country)
    return _run(values, normalize, hashed=False, memoize=kind in REPEATING_KINDS)


def hash_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``hash_identifier`` over a column: SHA-256 hex of each normalized value, None where dropped."""
    normalize = normalizer_for(kind, platform, default_country)
    return _run(values, normalize, hashed=True, memoize=kind in REPEATING_KINDS)


def prepare_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``prepare`` over a column: hashed or plain, as the platform wants this kind on the wire."""
    normalize = normalizer_for(kind, platform, default_country)
    return _run(values, normalize, hashed=is_hashed(kind, platform), memoize=kind in REPEATING_KINDS)
