"""Stream an App API export CSV into Arrow record batches in a landed dataset's schema, with bounded memory.

The CSV is read by ``pyarrow.csv.open_csv`` block by block (``block_size``, 4 MB by default); a finished download's
spool (``SpooledBytes``) is read by Arrow straight from the file, any other stream through Python. When the byte
stream can be replayed (a spool, a list of chunks), a fast pass lets Arrow type the timestamp columns as it
parses: that is the common case (ISO 8601 with a zone) and half the cost of typing strings afterwards. At the first
value Arrow refuses, the stream is replayed the tolerant way from that batch on: every column read as a string, then
typed here, so that one bad value quarantines its row instead of failing the whole export. Rows the CSV parser
cannot split (wrong column count) and rows whose values do not convert are counted in a ``Quarantine`` with their
row number and a reason, never their text (it may hold emails or phones).

Timestamps are accepted as unix seconds (or milliseconds), or ISO 8601 (``Z``, an offset, `` UTC`` or naive = UTC).
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.customerio.errors import ExportFormatError
from airflow_provider_cio.customerio.export_format import EXPORT_ALIASES, resolve_columns
from airflow_provider_cio.customerio.spool import ArrowInput, SpooledBytes

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
# Values filled in when an export lacks a column the landed schema requires (customers exports carry no flags).
DEFAULT_FILLS: dict[str, dict[str, Any]] = {
    "people": {"deleted": False, "suppressed": False, "ad_consent": False},
    "deliveries": {"delivery_type": "email"},
}
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
_ISO_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
_NUM_RE = r"^\d{1,16}(\.\d+)?$"
# The common spelling (every value ISO 8601 with a zone): one regex pass and a direct cast decide the block.
_ZONED_ISO_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$"


@dataclass(frozen=True)
class QuarantinedRow:
    """Where a bad row was (CSV line when the parser knows it, else the data record index) and why."""

    line: int | None
    record: int | None
    reason: str


@dataclass
class Quarantine:
    """Counts rows left out of the output and keeps the first ``max_examples`` locations and reasons."""

    max_examples: int = 100
    count: int = 0
    examples: list[QuarantinedRow] = field(default_factory=list)

    def add(self, reason: str, *, line: int | None = None, record: int | None = None) -> None:
        self.count += 1
        if len(self.examples) < self.max_examples:
            self.examples.append(QuarantinedRow(line=line, record=record, reason=reason))

    def merge(self, other: Quarantine) -> None:
        self.count += other.count
        self.examples.extend(other.examples[: max(0, self.max_examples - len(self.examples))])

    def summary(self) -> str:
        if not self.count:
            return "no rows quarantined"
        shown = "; ".join(
            f"{'line ' + str(e.line) if e.line is not None else 'record ' + str(e.record)}: {e.reason}"
            for e in self.examples[:5]
        )
        return f"{self.count} rows quarantined (first: {shown})"


class _ChunkStream(io.RawIOBase):
    """A readable file over an iterator of byte chunks, so pyarrow can pull the CSV as it arrives."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self._pending):
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _split_header(chunks: Iterable[bytes]) -> tuple[list[str], Iterator[bytes]]:
    """Read up to the first newline to learn the column names; give back a stream that still starts there."""
    iterator = iter(chunks)
    head = b""
    for chunk in iterator:
        head += chunk
        if b"\n" in head or len(head) > 1024 * 1024:
            break
    line = head.split(b"\n", 1)[0]
    text = line.decode("utf-8-sig", errors="replace").rstrip("\r")
    if not text.strip():
        return [], iter(())
    header = next(csv.reader([text]))
    return header, itertools.chain([head], iterator)


def absent_columns(
    chunks: Iterable[bytes],
    dataset: str,
    *,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
    fills: Mapping[str, Any] | None = None,
) -> list[str]:
    """Landed columns this export's header does not carry and no fill provides: they land as nulls.

    The gate reports them as schema drift at the source (a column Customer.io stopped sending), which is what
    happened, rather than as the null-rate failures they would otherwise look like. Reads the header only.
    """
    from airflow_provider_cio.datasets import arrow_schema

    header, _ = _split_header(chunks)
    if not header:
        return []
    resolved = resolve_columns(header, dict(aliases or EXPORT_ALIASES[dataset]))
    filled = {**DEFAULT_FILLS.get(dataset, {}), **(fills or {})}
    return [f.name for f in arrow_schema(dataset) if f.name not in resolved and f.name not in filled]


def iter_export_batches(
    chunks: Iterable[bytes],
    dataset: str,
    *,
    quarantine: Quarantine | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
    fills: Mapping[str, Any] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Yield record batches in ``arrow_schema(dataset)`` from an export CSV byte stream.

    ``fills`` gives values for required columns the export lacks (e.g. ``{"created_at": export_time}`` for a
    customers export); ``DEFAULT_FILLS`` covers the flags. Raises ``ExportFormatError`` when a required column is
    neither in the header nor fillable.
    """
    import pyarrow as pa

    from airflow_provider_cio.datasets import arrow_schema

    schema = arrow_schema(dataset)
    column_aliases = dict(aliases or EXPORT_ALIASES[dataset])
    fill_values = {**DEFAULT_FILLS.get(dataset, {}), **(fills or {})}
    quarantine = quarantine if quarantine is not None else Quarantine()
    header, stream_chunks = _split_header(chunks)
    if not header:
        return
    resolved = resolve_columns(header, column_aliases)
    missing = [
        f.name for f in schema if not f.nullable and f.name not in resolved and f.name not in fill_values
    ]
    if missing:
        wanted = ", ".join(f"{m} (one of {'/'.join(column_aliases.get(m, (m,)))})" for m in missing)
        raise ExportFormatError(
            f"{dataset} export CSV lacks required columns: {wanted}; header has {len(header)} columns: "
            f"{', '.join(header[:40])}"
        )

    native = {
        resolved[f.name]: f.type for f in schema if pa.types.is_timestamp(f.type) and f.name in resolved
    }
    progress = _Progress()
    landed: list[int] = []  # rows per batch the fast pass converted
    if native and iter(chunks) is not chunks:
        # Fast pass: Arrow types the timestamp columns while it splits the CSV (no string copies, no second cast).
        # Its row-shape findings wait in ``shapes`` until the pass completes: a tolerant replay reports them again.
        shapes = Quarantine(max_examples=quarantine.max_examples)
        source, mapped = _arrow_source(chunks, stream_chunks)
        fast = _open(source, header, block_size, native, shapes)
        try:
            for batch in fast:
                converted = _convert_batch(batch, schema, resolved, fill_values, quarantine, progress)
                landed.append(batch.num_rows)
                if converted.num_rows:
                    yield converted
                if mapped is not None:  # this batch's block and the ones before it are parsed
                    mapped.release_before((len(landed) - 1) * block_size)
        except pa.ArrowInvalid:  # a value Arrow's parser does not take (unix seconds, " UTC", month 13, ...)
            log.info(
                "%s export: batch %d needs the tolerant parser; replaying from there",
                dataset,
                len(landed) + 1,
            )
            _, stream_chunks = _split_header(chunks)
        else:
            quarantine.merge(shapes)
            _finish(dataset, quarantine)
            return
    source, mapped = _arrow_source(chunks, stream_chunks)
    tolerant = _open(source, header, block_size, {}, quarantine)
    for index, batch in enumerate(tolerant):
        if mapped is not None:
            mapped.release_before(index * block_size)
        if index < len(landed):  # the same bytes in the same block size split the same way
            if batch.num_rows != landed[index]:
                raise RuntimeError(
                    f"{dataset} export: replayed batch {index + 1} differs from the first pass"
                )
            continue
        converted = _convert_batch(batch, schema, resolved, fill_values, quarantine, progress)
        if converted.num_rows:
            yield converted
    _finish(dataset, quarantine)


@dataclass
class _Progress:
    """Data records converted so far: a quarantined value is reported by its record number."""

    records: int = 0


def _arrow_source(chunks: Iterable[bytes], after_header: Iterable[bytes]) -> tuple[Any, ArrowInput | None]:
    """What Arrow reads the CSV from: a finished download's spool directly, any other stream through Python.

    ``after_header`` is the stream ``_split_header`` gave back (it still starts at the header line).
    """
    if isinstance(chunks, SpooledBytes):
        mapped = chunks.arrow_input()
        return mapped.stream, mapped
    return io.BufferedReader(_ChunkStream(after_header), buffer_size=1024 * 1024), None


def _open(
    source: Any,
    header: list[str],
    block_size: int,
    native: Mapping[str, pa.DataType],
    shapes: Quarantine,
) -> Iterator[pa.RecordBatch]:
    """Arrow's streaming CSV reader over ``source`` (a readable file, header line first): ``native`` columns typed
    by Arrow, all others read as strings.

    Rows with the wrong number of fields are skipped and counted in ``shapes``, by line number, never by text.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def on_invalid(row: Any) -> str:
        shapes.add(
            f"expected {row.expected_columns} columns, got {row.actual_columns}",
            line=row.number if row.number is not None and row.number >= 0 else None,
        )
        return "skip"

    yield from pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=block_size, use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={name: native.get(name, pa.string()) for name in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )


def _finish(dataset: str, quarantine: Quarantine) -> None:
    if quarantine.count:
        log.warning("%s export: %s", dataset, quarantine.summary())


def _convert_batch(
    batch: pa.RecordBatch,
    schema: pa.Schema,
    resolved: dict[str, str],
    fills: Mapping[str, Any],
    quarantine: Quarantine,
    progress: _Progress,
) -> pa.RecordBatch:
    import numpy as np
    import pyarrow as pa

    n = batch.num_rows
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    arrays: list[pa.Array] = []
    for target in schema:
        source = resolved.get(target.name)
        if source is None:
            fill = fills.get(target.name)
            arrays.append(
                pa.nulls(n, target.type) if fill is None else pa.repeat(pa.scalar(fill, target.type), n)
            )
            continue
        raw = batch.column(batch.schema.get_field_index(source))
        values, invalid = _typed(raw, target.type)
        if target.name in fills:
            values = values.fill_null(pa.scalar(fills[target.name], target.type))
        if not target.nullable:
            invalid = invalid | np.asarray(values.is_null().to_numpy(zero_copy_only=False))
        for i in np.flatnonzero(invalid & ~bad)[:20]:
            reasons[int(i)] = f"column {target.name}: missing or not a valid {target.type}"
        bad |= invalid
        arrays.append(values)
    if bad.any():
        for i in np.flatnonzero(bad):
            quarantine.add(reasons.get(int(i), "invalid value"), record=progress.records + int(i) + 1)
    progress.records += n
    out = pa.RecordBatch.from_arrays(arrays, schema=schema.with_metadata(None)) if arrays else None
    assert out is not None
    return out.filter(pa.array(~bad)) if bad.any() else out


def _mask(condition: Any) -> Any:
    """A boolean Arrow array as a numpy mask, null counting as False."""
    import numpy as np
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(condition, False).to_numpy(zero_copy_only=False))


def _typed_fast(raw: pa.Array, target: pa.DataType) -> pa.Array | None:
    """The common case in one cast, or None to take the general path.

    Taken only when the block cannot hold a value the general path would treat differently: integers Arrow's cast
    takes, of at most 18 digits and not hexadecimal (the cast refuses a ``+`` sign or spaces itself); timestamps all ending in ``Z``
    and at least ``YYYY-MM-DDThh:mm:ssZ`` long (what Customer.io writes). Any value Arrow cannot parse (spaces, month 13, ...) makes the cast fail and the
    block goes the general way, so the result is the same, only cheaper (no regex passes, no trimming).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if raw.null_count == len(raw):
        return None
    if pa.types.is_timestamp(target):
        if pc.min(pc.binary_length(raw)).as_py() < 20 or not pc.all(pc.ends_with(raw, "Z")).as_py():
            return None
    elif not pa.types.is_integer(target):
        return None
    try:
        values = pc.cast(raw, target)  # refuses signs, spaces, decimals and anything past 64 bits
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pa.types.is_integer(target):
        if _may_hold_hex(raw):  # the cast takes "0x10" and "0X10" (as 16), which the general path refuses
            return None
        low, high = pc.min_max(values).values()
        if high.as_py() >= 10**18 or low.as_py() <= -(10**18):
            return None  # the general path takes at most 18 digits
    return values


def _may_hold_hex(raw: pa.Array) -> bool:
    """True when an ``x`` or ``X`` is anywhere in the column's character data (a cheap superset of hex values).

    One vectorised pass over the raw bytes: a per-value substring search cost 3% of a whole 1M-row landing. The
    buffer may hold bytes of values outside a sliced array; those can only send a block the general way.
    """
    import numpy as np

    data = raw.buffers()[2]
    if data is None:
        return False
    return bool(np.any((np.frombuffer(data, dtype=np.uint8) | 0x20) == ord("x")))


def _typed(raw: pa.Array, target: pa.DataType) -> tuple[pa.Array, Any]:
    """Convert a string column to ``target``; returns (values with nulls where invalid, invalid mask)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_string(target) or raw.type == target:  # as landed, or already typed by Arrow's parser
        return raw, np.zeros(len(raw), dtype=bool)
    fast = _typed_fast(raw, target)
    if fast is not None:
        return fast, np.zeros(len(raw), dtype=bool)
    text = pc.utf8_trim_whitespace(raw)
    present = _mask(pc.not_equal(text, ""))
    if pa.types.is_integer(target):
        ok = _mask(pc.match_substring_regex(text, r"^-?\d{1,18}$"))
        values = pc.cast(pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string())), target)
        return values, present & ~ok
    if pa.types.is_floating(target):
        ok = _mask(pc.match_substring_regex(text, r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$"))
        values = pc.cast(pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string())), target)
        return values, present & ~ok
    if pa.types.is_boolean(target):
        lower = pc.utf8_lower(text)
        is_true = _mask(pc.is_in(lower, pa.array(sorted(_TRUE))))
        is_false = _mask(pc.is_in(lower, pa.array(sorted(_FALSE))))
        ok = is_true | is_false
        return pa.array(is_true, mask=~ok), present & ~ok
    if pa.types.is_timestamp(target):
        return _timestamps(text, present, target)
    raise TypeError(f"unsupported target type {target}")


def _timestamps(text: pa.Array, present: Any, target: pa.DataType) -> tuple[pa.Array, Any]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    zoned_iso = _mask(pc.match_substring_regex(text, _ZONED_ISO_RE))
    if np.array_equal(zoned_iso, present):
        try:
            values = pc.cast(pc.if_else(pa.array(present), text, pa.scalar(None, pa.string())), target)
            return values, np.zeros(n, dtype=bool)
        except pa.ArrowInvalid:  # regex-valid but not a date (e.g. month 13): the general path sorts it out
            pass
    is_num = _mask(pc.match_substring_regex(text, _NUM_RE))
    iso_text = pc.replace_substring_regex(text, r"\s*UTC$", "Z")
    is_iso = _mask(pc.match_substring_regex(iso_text, _ISO_RE))
    micros = np.zeros(n, dtype=np.int64)
    valid = np.zeros(n, dtype=bool)
    if is_num.any():
        seconds = pc.cast(pc.if_else(pa.array(is_num), text, "0"), pa.float64()).to_numpy()
        seconds = np.where(seconds > 1e11, seconds / 1000.0, seconds)  # milliseconds slipped in
        micros = np.where(is_num, np.round(seconds * 1e6).astype(np.int64), micros)
        valid |= is_num
    if is_iso.any():
        has_zone = _mask(pc.match_substring_regex(iso_text, r"(Z|[+-]\d{2}:?\d{2})$"))
        zoned = pc.if_else(pa.array(has_zone), iso_text, pc.binary_join_element_wise(iso_text, "Z", ""))
        candidates = pc.if_else(pa.array(is_iso), zoned, pa.scalar(None, pa.string()))
        try:
            parsed = pc.cast(candidates, pa.timestamp("us", tz="UTC"))
            parsed_us = pc.cast(parsed, pa.int64()).fill_null(0).to_numpy()
            parsed_ok = is_iso
        except pa.ArrowInvalid:
            parsed_us, parsed_ok = _parse_slowly(candidates.to_pylist())
            parsed_ok = parsed_ok & is_iso
        micros = np.where(parsed_ok, parsed_us, micros)
        valid |= parsed_ok
    values = pa.array(micros, type=target, mask=~valid)
    return values, present & ~valid


def _parse_slowly(values: list[str | None]) -> tuple[Any, Any]:
    """Per-value fallback for a block where a regex-valid string is still not a date (e.g. month 13)."""
    import numpy as np

    micros = np.zeros(len(values), dtype=np.int64)
    ok = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if moment.tzinfo is None:
            continue
        micros[i] = int(moment.timestamp()) * 1_000_000 + moment.microsecond
        ok[i] = True
    return micros, ok
