"""Typed conversion of text values (CSV fields, JSON scalars rendered as text) to a landed column's type.

Every converter returns the typed values and a mask of the values it could not read: a value that does not parse is
never coerced to a default (``"Y"`` is not ``False``), the caller quarantines its row and counts it. A missing value
(null or blank) is null, not invalid: whether a column may be null is the caller's rule. Raw bytes are decoded
first (``decode_text``): invalid UTF-8 and oversized fields are invalid values too, so one bad row never fails a
whole file.

Timestamps are accepted as unix seconds (or milliseconds), or ISO 8601 (``Z``, an offset, `` UTC`` or naive = UTC).
Booleans accept only the spellings the source documents (``Booleans``); the App API exports' are wider than the
data-out files'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

# A field longer than this is quarantined: no Customer.io column we land holds anything near it (UNCONFIRMED: no
# documented limit was found; the App API caps a whole request body far below it).
DEFAULT_MAX_FIELD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Booleans:
    """The lower-case spellings a source uses for true and false; anything else is an invalid value."""

    true: frozenset[str]
    false: frozenset[str]


# App API exports: the spellings the export reader has always accepted, case-insensitive (UNCONFIRMED: Customer.io
# does not document how an export writes a boolean attribute; attribute values are whatever the sender stored).
EXPORT_BOOLEANS = Booleans(
    frozenset({"true", "t", "1", "yes", "y"}), frozenset({"false", "f", "0", "no", "n"})
)
# Data-out files: Parquet BOOLEAN (third-party loaders, customerio.md), or its text rendering in CSV/JSON files,
# ``true``/``false`` (JSON's literals; Arrow's and Python's CSV writers). Wider spellings are a setting.
DATAOUT_BOOLEANS = Booleans(frozenset({"true"}), frozenset({"false"}))

_ISO_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$"
_NUM_RE = r"^\d{1,16}(\.\d+)?$"
# The common spelling (every value ISO 8601 with a zone): one regex pass and a direct cast decide the block.
_ZONED_ISO_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$"


_MIN_MICROS = -62135596800 * 1_000_000  # 0001-01-01T00:00:00Z
_MAX_MICROS = 253402300799 * 1_000_000 + 999_999  # 9999-12-31T23:59:59.999999Z


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


def convert_text(
    raw: pa.Array, target: pa.DataType, booleans: Booleans = EXPORT_BOOLEANS
) -> tuple[pa.Array, Any]:
    """Convert a string column to ``target``; returns (values with nulls where invalid, invalid numpy mask)."""
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
        is_true = _mask(pc.is_in(lower, pa.array(sorted(booleans.true), pa.string())))
        is_false = _mask(pc.is_in(lower, pa.array(sorted(booleans.false), pa.string())))
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
        # a date alone names its midnight (neither Arrow's cast nor Python's fromisoformat reads a zoned date)
        zoned = pc.replace_substring_regex(
            zoned, r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:?\d{2})$", r"\1T00:00:00\2"
        )
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
    valid &= (micros >= _MIN_MICROS) & (
        micros <= _MAX_MICROS
    )  # years 1..9999: what every reader can represent
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


def _character_bytes(raw: pa.Array) -> int:
    """The bytes of character data a (possibly sliced) string or binary array spans, from its offsets."""
    import numpy as np
    import pyarrow as pa

    wide = pa.types.is_large_string(raw.type) or pa.types.is_large_binary(raw.type)
    narrow = pa.types.is_string(raw.type) or pa.types.is_binary(raw.type)
    if not isinstance(raw, pa.Array) or not (wide or narrow):  # a chunked or view array: measure every value
        return 2**63 - 1
    if len(raw) == 0:
        return 0
    width = np.int64 if wide else np.int32
    offsets = np.frombuffer(raw.buffers()[1], dtype=width, count=raw.offset + len(raw) + 1)
    return int(offsets[-1] - offsets[raw.offset])


def decode_text(raw: pa.Array, max_bytes: int = DEFAULT_MAX_FIELD_BYTES) -> tuple[pa.Array, Any, Any]:
    """Binary field values -> UTF-8 strings; returns (strings, invalid UTF-8 mask, too long mask).

    An invalid or oversized value becomes null in the strings and is flagged, so its row can be quarantined alone.
    The whole column is validated in one cast; only a column that fails it is decoded value by value.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(raw)
    too_long = np.zeros(n, dtype=bool)
    # no value is longer than all of the column's characters: for a CSV block (a few MB, split over its columns)
    # that one number usually decides it without a pass over the lengths
    if _character_bytes(raw) > max_bytes:
        lengths = pc.binary_length(raw)
        longest = pc.max(lengths).as_py()
    else:
        longest = None
    if longest is not None and longest > max_bytes:  # rare: one scalar decides the common case
        too_long = _mask(pc.greater(lengths, max_bytes))
        raw = pc.if_else(pa.array(too_long), pa.scalar(None, raw.type), raw)
    if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):  # Arrow validated it already
        return raw, np.zeros(n, dtype=bool), too_long
    try:
        return raw.cast(pa.string()), np.zeros(n, dtype=bool), too_long
    except pa.ArrowInvalid:
        pass
    bad = np.zeros(n, dtype=bool)
    decoded: list[str | None] = []
    for i, value in enumerate(raw.to_pylist()):
        if value is None:
            decoded.append(None)
            continue
        try:
            decoded.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            decoded.append(None)
            bad[i] = True
    return pa.array(decoded, pa.string()), bad, too_long
