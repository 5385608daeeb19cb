"""Stream an App API export CSV into Arrow record batches in a landed dataset's schema, with bounded memory.

The CSV is read by ``pyarrow.csv.open_csv`` block by block (``block_size``, 4 MB by default); a finished download's
spool (``SpooledBytes``) is read by Arrow straight from the file, any other stream through Python. When the byte
stream can be replayed (a spool, a list of chunks), a fast pass lets Arrow type the timestamp columns as it
parses: that is the common case (ISO 8601 with a zone) and half the cost of typing strings afterwards. At the first
value Arrow refuses, the stream is replayed the tolerant way from that record on: every column read as bytes, then
decoded and typed here (``convert``), so that one bad value (a typo, invalid UTF-8, an 8 MB field) quarantines its
row instead of failing the whole export. A record longer than a block is read by replaying in bigger blocks. Rows
the CSV parser cannot split (wrong column count) and rows whose values do not convert are counted in a
``Quarantine`` with their row number and a reason, never their text (it may hold emails or phones).
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.customerio.convert import (
    DEFAULT_MAX_FIELD_BYTES,
    EXPORT_BOOLEANS,
    Booleans,
    convert_text,
    decode_text,
)
from airflow_provider_cio.customerio.errors import ExportFormatError
from airflow_provider_cio.customerio.export_format import EXPORT_ALIASES, resolve_columns
from airflow_provider_cio.customerio.spool import ArrowInput, SpooledBytes

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
# A record longer than a block is read by replaying in bigger blocks, up to this size (memory: a few blocks).
DEFAULT_MAX_BLOCK_SIZE = 64 * 1024 * 1024
# Values filled in when an export lacks a column the landed schema requires. Customers exports carry no flags: a
# person an export lists exists and is not suppressed (Customer.io deletes the people it suppresses: "Delete people
# and suppress profile IDs", https://docs.customer.io/journeys/deleting-users/); consent is opt-in.
DEFAULT_FILLS: dict[str, dict[str, Any]] = {
    "people": {"deleted": False, "suppressed": False, "ad_consent": False},
    "deliveries": {"delivery_type": "email"},
}
# Flags a fill stands in for only when the export has no such column: a blank in a column the export does carry is
# an unknown state, and an unknown suppression is never "not suppressed" (the row is quarantined).
NEVER_FILLED_WHEN_PRESENT = frozenset({"deleted", "suppressed"})


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
    schema: pa.Schema | None = None,
    booleans: Booleans = EXPORT_BOOLEANS,
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    keep_rejected: bool = False,
    default_fills: bool = True,
) -> Iterator[pa.RecordBatch]:
    """Yield record batches in ``schema`` (default ``arrow_schema(dataset)``) from an export CSV byte stream.

    ``fills`` gives values for required columns the export lacks (e.g. ``{"created_at": export_time}`` for a
    customers export); ``DEFAULT_FILLS`` covers the flags. Raises ``ExportFormatError`` when a required column is
    neither in the header nor fillable, or when the CSV cannot be split into records at all (a record longer than
    ``max_block_size``); messages carry column names and counts, never a value. A record longer than
    ``block_size`` is read by replaying the stream in bigger blocks; a field longer than ``max_field_bytes`` or not
    valid UTF-8 quarantines its row. ``keep_rejected``: rows whose values do not convert are yielded with their
    reason in a ``_reject`` column instead of being quarantined (rows of the wrong shape are quarantined still).
    ``default_fills=False`` leaves out ``DEFAULT_FILLS`` (a source whose flags must never be assumed).
    """
    import pyarrow as pa

    from airflow_provider_cio.datasets import arrow_schema

    schema = schema if schema is not None else arrow_schema(dataset)
    column_aliases = dict(aliases or EXPORT_ALIASES[dataset])
    defaults = DEFAULT_FILLS.get(dataset, {}) if default_fills else {}
    fill_values = {**defaults, **(fills or {})}
    quarantine = quarantine if quarantine is not None else Quarantine()
    header, stream_chunks = _split_header(chunks)
    if not header:
        return
    resolved = resolve_columns(header, column_aliases)
    missing = [
        f.name for f in schema if not f.nullable and f.name not in resolved and f.name not in fill_values
    ]
    if missing:
        raise ExportFormatError(
            missing_columns_message(dataset, missing, column_aliases, len(header), resolved)
        )

    progress = _Progress()
    convert = _Converter(
        schema, resolved, fill_values, quarantine, progress, booleans, max_field_bytes, keep_rejected
    )
    native = {
        resolved[f.name]: f.type for f in schema if pa.types.is_timestamp(f.type) and f.name in resolved
    }
    replayable = iter(chunks) is not chunks
    done = 0  # data records the parser handed over and that were converted (landed or quarantined)
    if native and replayable:
        # Fast pass: Arrow types the timestamp columns while it splits the CSV (no string copies, no second cast).
        # Its row-shape findings wait in ``shapes`` until the pass completes: a tolerant replay reports them again.
        shapes = Quarantine(max_examples=quarantine.max_examples)
        source, mapped = _arrow_source(chunks, stream_chunks)
        try:
            for index, batch in enumerate(_open(source, header, block_size, native, shapes, pa.string())):
                converted = convert(batch)
                done += batch.num_rows
                if converted.num_rows:
                    yield converted
                if mapped is not None:  # this batch's block and the ones before it are parsed
                    mapped.release_before(index * block_size)
        except (
            pa.ArrowInvalid
        ):  # a value Arrow's parser does not take (unix seconds, invalid UTF-8, month 13, ...)
            log.info(
                "%s export: record %d on needs the tolerant parser; replaying from there", dataset, done + 1
            )
            _, stream_chunks = _split_header(chunks)
        else:
            quarantine.merge(shapes)
            _finish(dataset, quarantine)
            return
    # Tolerant passes: every field read as bytes, decoded and typed here, so one bad value quarantines its row.
    # A record longer than the block makes Arrow give up on the block: replay in bigger blocks, skipping the
    # records already converted (the same bytes split into the same records whatever the block size).
    while True:
        shapes = Quarantine(max_examples=quarantine.max_examples)
        if convert.replaced_invalid:
            source, mapped = io.BufferedReader(_ChunkStream(_valid_utf8(stream_chunks)), 1024 * 1024), None
        else:
            source, mapped = _arrow_source(chunks, stream_chunks)
        skip = done
        try:
            for index, batch in enumerate(_open(source, header, block_size, {}, shapes, pa.binary())):
                if mapped is not None:
                    mapped.release_before(index * block_size)
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                batch, skip = batch.slice(skip), 0
                converted = convert(batch)
                done += batch.num_rows
                if converted.num_rows:
                    yield converted
        except pa.ArrowInvalid as exc:  # its text may quote a record: never passed on
            straddles = "straddl" in str(exc)
            # Arrow hands a row of the wrong shape to our handler as text: one holding invalid UTF-8 fails the
            # parse instead. Replayed with invalid bytes marked (U+FFFD), such a row is skipped and counted.
            undecodable = "CSV parse error" in str(exc) and not convert.replaced_invalid
            if not (replayable and (undecodable or (straddles and block_size < max_block_size))):
                what = (
                    f"a record is longer than {block_size // (1024 * 1024)} MB"
                    if straddles
                    else f"the CSV parser stopped ({type(exc).__name__})"
                )
                raise ExportFormatError(
                    f"{dataset} export CSV cannot be read past data record {done}: {what}; "
                    f"{done} records were read before it"
                ) from None
            if undecodable:
                convert.replaced_invalid = True
                log.info(
                    "%s export: a malformed row is not UTF-8; replaying with invalid bytes marked", dataset
                )
            else:
                block_size = min(block_size * 4, max_block_size)
                log.info(
                    "%s export: a record is longer than a block; replaying in %d MB blocks",
                    dataset,
                    block_size >> 20,
                )
            _, stream_chunks = _split_header(chunks)
            continue
        quarantine.merge(shapes)
        _finish(dataset, quarantine)
        return


def _valid_utf8(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The stream with every invalid UTF-8 sequence replaced by U+FFFD (sequences split across chunks kept)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for chunk in chunks:
        yield decoder.decode(chunk).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def missing_columns_message(
    dataset: str,
    missing: list[str],
    aliases: Mapping[str, tuple[str, ...]],
    header_columns: int,
    resolved: Mapping[str, str],
) -> str:
    """Name the missing landed columns and the header spellings accepted for them; never the header's own text.

    A file without a header row has its first data row read as the header: that row's emails and phones must not
    reach the error, the task log or an on-call alert. So the header is described by counts and by the landed
    columns it did match (our own names).
    """
    wanted = ", ".join(f"{m} (one of {'/'.join(aliases.get(m, (m,)))})" for m in missing)
    known = ", ".join(sorted(resolved)) or "none"
    hint = "" if resolved else " (no column name was recognized: is the header row missing?)"
    return (
        f"{dataset} export CSV lacks required columns: {wanted}; its header has {header_columns} columns, "
        f"{len(resolved)} of them recognized: {known}{hint}"
    )


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
    text: pa.DataType,
) -> Iterator[pa.RecordBatch]:
    """Arrow's streaming CSV reader over ``source`` (a readable file, header line first): ``native`` columns typed
    by Arrow, all others read as ``text`` (``string``, or ``binary`` to decode field by field here).

    Rows with the wrong number of fields are skipped and counted in ``shapes``, by line number, never by text.
    """
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
            column_types={name: native.get(name, text) for name in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )


def _finish(dataset: str, quarantine: Quarantine) -> None:
    if quarantine.count:
        log.warning("%s export: %s", dataset, quarantine.summary())


REJECT_COLUMN = "_reject"


@dataclass
class _Converter:
    """One parsed batch -> the landed schema; rows with a value that does not convert are quarantined.

    With ``keep_rejected`` they stay in the batch instead, their reason in a ``_reject`` column (null for good
    rows): a caller that counts rejects per partition needs the rest of the row (its date) to know where.
    """

    schema: pa.Schema
    resolved: dict[str, str]
    fills: Mapping[str, Any]
    quarantine: Quarantine
    progress: _Progress
    booleans: Booleans
    max_field_bytes: int
    keep_rejected: bool = False
    # the stream was replayed with invalid UTF-8 replaced by U+FFFD: a U+FFFD in a field marks it invalid
    replaced_invalid: bool = False

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        import numpy as np
        import pyarrow as pa

        out, bad, reasons = self.convert(batch)
        if self.keep_rejected:
            self.progress.records += batch.num_rows
            column: list[str | None] = [None] * batch.num_rows
            for row, reason in reasons.items():
                column[row] = reason
            return out.append_column(REJECT_COLUMN, pa.array(column, pa.string()))
        for i in np.flatnonzero(bad).tolist():
            self.quarantine.add(reasons[i], record=self.progress.records + i + 1)
        self.progress.records += batch.num_rows
        return out.filter(pa.array(~bad)) if bad.any() else out

    def convert(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, Any, dict[int, str]]:
        """(all rows converted, mask of bad rows, each bad row's reason: its first bad column's, in schema order)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from airflow_provider_cio.customerio.convert import _mask

        n = batch.num_rows
        bad = np.zeros(n, dtype=bool)
        reasons: dict[int, str] = {}
        arrays: list[pa.Array] = []

        def flag(invalid: Any, reason: str) -> None:
            nonlocal bad
            if not invalid.any():  # the common case: one pass, no temporaries
                return
            new = invalid & ~bad
            if new.any():
                reasons.update(dict.fromkeys(np.flatnonzero(new).tolist(), reason))
                bad = bad | new

        for target in self.schema:
            source = self.resolved.get(target.name)
            if source is None:
                fill = self.fills.get(target.name)
                arrays.append(
                    pa.nulls(n, target.type) if fill is None else pa.repeat(pa.scalar(fill, target.type), n)
                )
                continue
            raw = batch.column(batch.schema.get_field_index(source))
            if not pa.types.is_timestamp(raw.type):
                raw, not_utf8, too_long = decode_text(raw, self.max_field_bytes)
                if self.replaced_invalid:
                    not_utf8 = not_utf8 | _mask(pc.match_substring(raw, "\ufffd"))
                flag(not_utf8, f"column {target.name}: not valid UTF-8")
                flag(too_long, f"column {target.name}: value longer than {self.max_field_bytes} bytes")
            values, invalid = convert_text(raw, target.type, self.booleans)
            if target.name in self.fills and target.name not in NEVER_FILLED_WHEN_PRESENT:
                values = values.fill_null(pa.scalar(self.fills[target.name], target.type))
            if not target.nullable and values.null_count:
                invalid = invalid | np.asarray(values.is_null().to_numpy(zero_copy_only=False))
            flag(invalid, f"column {target.name}: missing or not a valid {target.type}")
            arrays.append(values)
        out = pa.RecordBatch.from_arrays(arrays, schema=self.schema.with_metadata(None))
        return out, bad, reasons
