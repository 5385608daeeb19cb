"""The column API for callers that live in Arrow or DuckDB: an Arrow column in, Arrow columns out, no Python list.

Same answers as ``column`` (and so as the scalar functions): emails and phones of ``column.VECTOR_MIN`` values or
more go through ``vector`` (DuckDB or numpy decide the common shapes, the per-value normalizer the rest); every
other column is normalized once per distinct value (Arrow's dictionary encoding) and each row takes its value's
answer. The per-row drop reason comes with the values, so a caller that stores reasons per row needs no second pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_cio.identity.column import VECTOR_KINDS, _finish, _normalize_any
from airflow_provider_cio.identity.kinds import is_hashed
from airflow_provider_cio.identity.registry import normalizer_for
from airflow_provider_cio.identity.scalar import normalize_with_reason

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True, slots=True)
class ArrowColumnResult:
    """``values`` (string, null where dropped) and ``reasons`` (string, null where kept), aligned with the input.

    Chunked: the DuckDB path's answers stay in DuckDB's chunks (never copied into one array again)."""

    values: pa.ChunkedArray
    reasons: pa.ChunkedArray

    def reason_counts(self) -> dict[str, int]:
        """Drop reason -> count."""
        import pyarrow.compute as pc

        counts = pc.value_counts(self.reasons.drop_null())
        return {str(item["values"]): int(item["counts"]) for item in counts.to_pylist()}


def _as_text_array(values: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """One contiguous string array, or ``None`` for another type (those go through the list API)."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
        values = values.cast(pa.string())
    return values if pa.types.is_string(values.type) else None


def _per_distinct(
    text: pa.Array, kind: str, platform: str, default: str | None, hashed: bool
) -> ArrowColumnResult:
    """Each distinct value normalized once; rows take their value's answer (a null row is ``empty``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    normalize = normalizer_for(kind, platform, default)
    encoded = pc.dictionary_encode(text)
    answers: list[str | None] = []
    why: list[str | None] = []
    for value in encoded.dictionary.to_pylist():
        result = _normalize_any(value, normalize)
        answers.append(_finish(result, hashed))
        why.append(None if type(result) is str else result.reason)  # type: ignore[union-attr]
    indices = encoded.indices
    values = pc.take(pa.array(answers, pa.string()), indices)
    reasons = pc.take(pa.array(why, pa.string()), indices)
    if text.null_count:
        reasons = pc.if_else(text.is_null(), pa.scalar(_normalize_any(None, normalize).reason), reasons)  # type: ignore[union-attr]
    return ArrowColumnResult(pa.chunked_array([values]), pa.chunked_array([reasons]))


def _vectorised(
    text: pa.Array, kind: str, platform: str, default: str | None, hashed: bool
) -> ArrowColumnResult:
    """``vector.run_common``, then the per-value normalizer over the rows it left undecided.

    Chunk by chunk, as DuckDB returns them: joining its answers into one array first copied every hash once more
    (128 MB for 2M emails, a fifth of the column's time in a fresh process).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from airflow_provider_cio.identity.vector import run_common

    decided = run_common(kind, platform, default, hashed, text)
    normalize = normalizer_for(kind, platform, default)
    values: list[pa.Array] = []
    reasons: list[pa.Array] = []
    offset = 0
    for chunk in decided.chunks:
        size = len(chunk)
        none = pa.nulls(size, pa.string())
        if chunk.null_count:
            undecided = chunk.is_null()
            fixed: list[str | None] = []
            why: list[str | None] = []
            for value in text.slice(offset, size).filter(undecided).to_pylist():
                result = _normalize_any(value, normalize)
                fixed.append(_finish(result, hashed))
                why.append(None if type(result) is str else result.reason)  # type: ignore[union-attr]
            # most undecided rows are refused (empty, malformed): their null stays, and the chunk of hashes is not
            # copied (copying them took a fifth of a 2M-email column's time in a fresh process)
            kept = any(value is not None for value in fixed)
            values.append(
                pc.replace_with_mask(chunk, undecided, pa.array(fixed, pa.string())) if kept else chunk
            )
            reasons.append(pc.replace_with_mask(none, undecided, pa.array(why, pa.string())))
        else:
            values.append(chunk)
            reasons.append(none)
        offset += size
    return ArrowColumnResult(pa.chunked_array(values, pa.string()), pa.chunked_array(reasons, pa.string()))


def _run(
    kind: str, values: pa.Array | pa.ChunkedArray, platform: str, default: str | None, hashed: bool
) -> ArrowColumnResult:
    import pyarrow as pa

    from airflow_provider_cio.identity import column

    normalizer_for(kind, platform, default)  # an unknown kind, platform or country fails here
    text = _as_text_array(values)
    if text is None:  # numbers or other types: the list API knows what to do with each
        items = values.to_pylist()
        result = column._run((kind, platform, default, hashed), items)
        why = [
            None
            if v is not None
            else normalize_with_reason(kind, item, platform=platform, default_country=default)[1]
            for v, item in zip(result.values, items, strict=True)
        ]
        return ArrowColumnResult(
            pa.chunked_array([pa.array(result.values, pa.string())]),
            pa.chunked_array([pa.array(why, pa.string())]),
        )
    if kind in VECTOR_KINDS and len(text) >= column.VECTOR_MIN:
        return _vectorised(text, kind, platform, default, hashed)
    return _per_distinct(text, kind, platform, default, hashed)


def hash_column_arrow(
    kind: str, values: pa.Array | pa.ChunkedArray, *, platform: str, default_country: str | None = None
) -> ArrowColumnResult:
    """``hash_column`` for an Arrow column: SHA-256 hex of each normalized value, null where dropped."""
    return _run(kind, values, platform, default_country, True)


def prepare_column_arrow(
    kind: str, values: pa.Array | pa.ChunkedArray, *, platform: str, default_country: str | None = None
) -> ArrowColumnResult:
    """``prepare_column`` for an Arrow column: hashed or plain, as the platform wants this kind on the wire."""
    return _run(kind, values, platform, default_country, is_hashed(kind, platform))
