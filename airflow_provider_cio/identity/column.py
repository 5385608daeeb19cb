"""The whole-column API: same answers as the scalar functions, a counted report of why values were dropped.

One pass in Python per column: the per-kind normalizer is resolved once, repeating kinds (names, places) are
memoized per column, and hashing is ``hashlib.sha256`` per kept value (the standard library has nothing faster, and
pyarrow.compute has no SHA-256). Big mostly-unique columns (emails, phones) are cut into chunks that worker processes
and the caller share (``pool``); each chunk runs the same one-core function, so the answers do not depend on where it
ran. Dropped values come back as ``None`` in their position and never fail the batch.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from airflow_provider_cio.identity import pool
from airflow_provider_cio.identity.email_arrow import meta_common_emails
from airflow_provider_cio.identity.kinds import EMAIL, META, is_hashed
from airflow_provider_cio.identity.pool import ChunkResult, Task
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


def _run_meta_emails(items: list[object], normalize: Normalizer, hashed: bool) -> ColumnResult | None:
    """Meta emails: the common shape through Arrow kernels (``email_arrow``), the rest value by value."""
    common = meta_common_emails(items)
    if common is None:
        return None
    results = [
        b if b is not None else _normalize_any(v, normalize) for b, v in zip(common, items, strict=True)
    ]
    if hashed:
        sha256 = hashlib.sha256
        out = [
            sha256(r).hexdigest()
            if type(r) is bytes
            else (sha256(r.encode()).hexdigest() if type(r) is str else None)
            for r in results
        ]
    else:
        out = [r.decode() if type(r) is bytes else (r if type(r) is str else None) for r in results]
    reasons: dict[str, int] = {}
    if None in out:
        for r in results:
            if isinstance(r, Dropped):
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
    return ColumnResult(out, reasons)


def run_chunk(task: Task, chunk: list[object]) -> ChunkResult:
    """One core over one chunk of a mostly-unique column: what the caller and each worker run."""
    kind, platform, default_country, hashed = task
    normalize = normalizer_for(kind, platform, default_country)
    result = _run_meta_emails(chunk, normalize, hashed) if kind == EMAIL and platform == META else None
    if result is None:
        result = _run_each(chunk, normalize, hashed)
    return result.values, result.reasons


def _run(task: Task, values: Iterable[object]) -> ColumnResult:
    kind, platform, default_country, hashed = task
    items = _as_list(values)
    if kind in REPEATING_KINDS:  # few distinct values: the memo beats more cores
        return _run_distinct(items, normalizer_for(kind, platform, default_country), hashed)
    if len(items) < pool.MIN_VALUES:
        return ColumnResult(*run_chunk(task, items))
    out: list[str | None] = []
    reasons: dict[str, int] = {}
    for chunk_values, chunk_reasons in pool.run_chunks(items, task, run_chunk):
        out += chunk_values
        for reason, count in chunk_reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    return ColumnResult(out, reasons)


def normalize_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``normalize`` over a column (list, tuple, pyarrow array, pandas Series)."""
    # an unknown kind, platform or country fails here, not in a worker
    normalizer_for(kind, platform, default_country)
    return _run((kind, platform, default_country, False), values)


def hash_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``hash_identifier`` over a column: SHA-256 hex of each normalized value, None where dropped."""
    normalizer_for(kind, platform, default_country)
    return _run((kind, platform, default_country, True), values)


def prepare_column(
    kind: str, values: Iterable[object], *, platform: str, default_country: str | None = None
) -> ColumnResult:
    """``prepare`` over a column: hashed or plain, as the platform wants this kind on the wire."""
    normalizer_for(kind, platform, default_country)
    return _run((kind, platform, default_country, is_hashed(kind, platform)), values)
