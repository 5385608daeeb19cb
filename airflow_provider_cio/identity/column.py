"""The whole-column API: same answers as the scalar functions, a counted report of why values were dropped.

Repeating kinds (names, places) are normalized once per distinct value and hashed with ``hashlib``. Big
mostly-unique columns of text (emails, phones, ``VECTOR_MIN`` values or more) go through ``vector``: the common
shapes are normalized for the whole column (emails in DuckDB, phones in numpy) and hashed by DuckDB (vectorised, on
the cores it is given), and every other row is left to the per-value normalizer, so the answers and the drop reasons are the per-value ones. Smaller columns, and
columns holding something other than strings and nulls, go value by value. Dropped values come back as ``None`` in
their position and never fail the batch.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from airflow_provider_cio.identity.kinds import EMAIL, PHONE, is_hashed
from airflow_provider_cio.identity.reasons import Dropped
from airflow_provider_cio.identity.registry import REPEATING_KINDS, Normalizer, as_text, normalizer_for

# (kind, platform, default_country, hashed)
Task = tuple[str, str, str | None, bool]
# Below this many values a column goes value by value: a DuckDB query has a fixed cost of a few milliseconds, and a
# process that has not loaded pyarrow and duckdb yet pays about a second for them.
VECTOR_MIN = 20_000
VECTOR_KINDS: Final = frozenset({EMAIL, PHONE})
_STR_OR_NULL: Final = frozenset({str, type(None)})


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


def _normalize_any(value: object, normalize: Normalizer) -> str | Dropped:
    text = as_text(value)
    return normalize(text) if type(text) is str else text


def _finish(result: str | Dropped, hashed: bool) -> str | None:
    if type(result) is not str:
        return None
    return hashlib.sha256(result.encode()).hexdigest() if hashed else result


def _run_each(items: list[object], normalize: Normalizer, hashed: bool) -> ColumnResult:
    """Mostly-unique columns (emails, phones): normalize every value, then hash, in comprehension passes."""
    results = [normalize(v) if type(v) is str else _normalize_any(v, normalize) for v in items]
    if hashed:
        sha256 = hashlib.sha256
        out = [sha256(r.encode()).hexdigest() if type(r) is str else None for r in results]
    else:
        out = [r if type(r) is str else None for r in results]
    reasons: dict[str, int] = {}
    if None in out:
        for r in results:
            if type(r) is not str:
                reason = r.reason  # type: ignore[union-attr]
                reasons[reason] = reasons.get(reason, 0) + 1
    return ColumnResult(out, reasons)


def _run_distinct(items: list[object], normalize: Normalizer, hashed: bool) -> ColumnResult:
    """Repeating columns (names, places): work once per distinct value, then look every row up."""
    try:
        counts = Counter(items)
    except TypeError:  # something unhashable in the column: no memo, same answers
        return _run_each(items, normalize, hashed)
    if any(type(value) is not str and value is not None for value in counts):
        # numbers as keys would merge (1 == 1.0 == True) though they normalize differently
        return _run_each(items, normalize, hashed)
    reasons: dict[str, int] = {}
    answers: dict[object, str | None] = {}
    for value, count in counts.items():
        result = normalize(value) if type(value) is str else _normalize_any(value, normalize)
        if type(result) is not str:
            reason = result.reason  # type: ignore[union-attr]
            reasons[reason] = reasons.get(reason, 0) + count
        answers[value] = _finish(result, hashed)
    return ColumnResult([answers[v] for v in items], reasons)


def _run_vector(items: list[object], normalize: Normalizer, task: Task) -> ColumnResult | None:
    """Emails and phones through ``vector.run_common``; its undecided rows (nulls) through ``normalize``.

    ``None`` when the column holds something other than strings and nulls (Arrow would read bytes as text, which
    ``as_text`` refuses) or text Arrow cannot encode (lone surrogates): the caller then goes value by value.
    """
    if not set(map(type, items)) <= _STR_OR_NULL:
        return None
    import pyarrow as pa

    from airflow_provider_cio.identity.vector import run_common

    kind, platform, default_country, hashed = task
    try:
        text = pa.array(items, pa.string())
    except (pa.ArrowException, UnicodeError):
        return None
    decided = run_common(kind, platform, default_country, hashed, text)
    values: list[str | None] = decided.to_pylist()
    reasons: dict[str, int] = {}
    if decided.null_count:
        import pyarrow.compute as pc

        for i in pc.indices_nonzero(decided.is_null()).to_pylist():
            result = _normalize_any(items[i], normalize)
            if type(result) is str:
                values[i] = _finish(result, hashed)
            else:
                reason = result.reason  # type: ignore[union-attr]
                reasons[reason] = reasons.get(reason, 0) + 1
    return ColumnResult(values, reasons)


def _run(task: Task, values: Iterable[object]) -> ColumnResult:
    kind, platform, default_country, hashed = task
    items = _as_list(values)
    normalize = normalizer_for(kind, platform, default_country)
    if kind in REPEATING_KINDS:  # few distinct values: the memo beats any per-value work
        return _run_distinct(items, normalize, hashed)
    if kind in VECTOR_KINDS and len(items) >= VECTOR_MIN:
        result = _run_vector(items, normalize, task)
        if result is not None:
            return result
    return _run_each(items, normalize, hashed)


def normalize_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``normalize`` over a column (list, tuple, pyarrow array, pandas Series)."""
    return _run((kind, platform, default_country, False), values)


def hash_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``hash_identifier`` over a column: SHA-256 hex of each normalized value, None where dropped."""
    return _run((kind, platform, default_country, True), values)


def prepare_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``prepare`` over a column: hashed or plain, as the platform wants this kind on the wire."""
    return _run((kind, platform, default_country, is_hashed(kind, platform)), values)
