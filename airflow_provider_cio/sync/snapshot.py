"""One audience snapshot in canonical order, with per-member fingerprints and a content id.

Member identity for diffing is ``customer_id`` plus a fingerprint of its identifiers: a member whose identifier set
changed is a different row for the platform (remove the old hashes, add the new ones). Sorting by ``customer_id``
makes batching deterministic, so a resumed run rebuilds exactly the batches the crashed attempt sent.

The snapshot is kept in Arrow columns (``keys``: customer_id, fingerprint, consent, identifiers JSON, sorted by
customer_id) and ``Member`` objects are built only for the rows a caller asks for (``members_at``). Given a
``MemberTable`` and the last synced state (``known``), a member whose canonical identifiers and consent equal its
stored row takes the stored fingerprint (it is a function of exactly those), so only new and changed members are
hashed: the cost of a snapshot follows the churn, not the audience size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.sync.destination import Member
from airflow_provider_cio.sync.member_table import MemberTable

if TYPE_CHECKING:
    import pyarrow as pa

FINGERPRINT_HEX = 16  # 64 bits: collisions between one customer's old and new identifier sets are negligible


_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False
)  # one encoder: json.dumps builds one per call
_JSON_ESCAPED = (
    r'["\\\x00-\x1f]'  # what the encoder escapes with ensure_ascii=False; such rows take the slow path
)


def canonical_identifiers(identifiers: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Kinds sorted, values deduplicated and sorted, empty values and empty kinds dropped."""
    out: dict[str, list[str]] = {}
    for kind in sorted(identifiers):
        values = sorted({v for v in identifiers[kind] if v})
        if values:
            out[kind] = values
    return out


def identifiers_json(identifiers: Mapping[str, Iterable[str]]) -> str:
    """Compact canonical JSON of a member's identifiers (what the state file keeps to remove it later)."""
    return _ENCODER.encode(canonical_identifiers(identifiers))


def member_fingerprint(member: Member) -> str:
    """Short hash of the canonical identifier set and consent: equal fingerprints mean nothing to resend."""
    parts = []
    identifiers = member.identifiers
    for kind in sorted(identifiers):
        values = identifiers[kind]
        if len(values) == 1:  # the common case, without building a set
            joined = values[0]
        else:
            joined = "\x1f".join(sorted({v for v in values if v}))
        if joined:
            parts.append(kind + "\x1e" + joined)
    parts.append("c1" if member.consent else "c0")
    return hashlib.sha256("\x1d".join(parts).encode("utf-8")).hexdigest()[:FINGERPRINT_HEX]


@dataclass(frozen=True)
class SnapshotEntry:
    """A member with its precomputed fingerprint."""

    customer_id: str
    fingerprint: str
    member: Member


class Snapshot:
    """Members sorted by ``customer_id``; ``content_id`` is a hash of (customer_id, fingerprint) pairs.

    ``keys`` has one row per member in that order: customer_id, fingerprint, consent and, from a ``MemberTable``,
    ids_json (what the state file keeps; from ``Member`` objects it is built only for the rows stored anew, by
    ``next_state``); ``members_at(positions)`` builds the ``Member``s of some rows."""

    def __init__(
        self,
        keys: pa.Table,
        content_id: str,
        source: Sequence[Member] | MemberTable,
        order: pa.Array | None,
        coverage: dict[str, int],
    ) -> None:
        self.keys = keys
        self.content_id = content_id
        self._source = source
        self._order = order  # row of ``source`` for each sorted position (None: source is already sorted)
        self._coverage = coverage
        # (stored state, each row's position in it): the join made to borrow fingerprints, reused by the plan
        self.joined: tuple[pa.Table, Any] | None = None

    def __len__(self) -> int:
        return int(self.keys.num_rows)

    def coverage(self) -> dict[str, int]:
        """Members per identifier kind (counts only, PII-free)."""
        return dict(self._coverage)

    def members_at(self, positions: Sequence[int]) -> list[Member]:
        """The ``Member``s at these sorted positions, in the order given."""
        rows = list(positions) if self._order is None else self._order.take(_ints(positions)).to_pylist()
        if isinstance(self._source, MemberTable):
            return self._source.members_at(rows)
        source = self._source
        return [source[i] for i in rows]

    def all_members(self) -> list[Member]:
        return self.members_at(range(len(self)))

    def held(self, kind: str, values: Iterable[str]) -> set[str]:
        """Which of ``values`` some member holds as a ``kind`` identifier. One vectorised pass over the kind's
        column, probing a hash set of the (few) values asked about: what a removal must not name."""
        import pyarrow as pa
        import pyarrow.compute as pc

        asked = pa.array(sorted(set(values)), type=pa.string())
        if not len(asked) or not len(self):
            return set()
        if isinstance(self._source, MemberTable):
            if kind not in self._source.kinds:
                return set()
            flat = pc.list_flatten(self._source.table.column(kind))
            return set(pc.unique(flat.filter(pc.is_in(flat, value_set=asked))).to_pylist())
        wanted = set(asked.to_pylist())
        return {v for m in self._source for v in m.identifiers.get(kind, ()) if v in wanted}

    def holders(self, kind: str, values: Iterable[str]) -> list[int]:
        """Sorted positions of the members holding any of ``values`` as a ``kind`` identifier (one vectorised pass,
        as ``held``)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        asked = pa.array(sorted(set(values)), type=pa.string())
        if not len(asked) or not len(self):
            return []
        if isinstance(self._source, MemberTable):
            if kind not in self._source.kinds:
                return []
            column = self._source.table.column(kind)
            hit = pc.is_in(pc.list_flatten(column), value_set=asked)
            rows = pc.unique(pc.list_parent_indices(column).filter(hit))
            if self._order is None:
                return sorted(rows.to_pylist())
            # source rows -> sorted positions: the positions whose source row is one of them
            return pc.indices_nonzero(
                pc.is_in(self._order, value_set=rows.cast(self._order.type))
            ).to_pylist()
        wanted = set(asked.to_pylist())
        return [
            i for i, m in enumerate(self.all_members()) if wanted.intersection(m.identifiers.get(kind, ()))
        ]

    @property
    def entries(self) -> list[SnapshotEntry]:
        """Every member with its fingerprint (builds them all: for tests and small snapshots)."""
        ids = self.keys.column("customer_id").to_pylist()
        fps = self.keys.column("fingerprint").to_pylist()
        return [SnapshotEntry(c, f, m) for c, f, m in zip(ids, fps, self.all_members(), strict=True)]

    @classmethod
    def from_members(cls, members: Iterable[Member], known: pa.Table | None = None) -> Snapshot:
        """Fingerprint and sort; reject duplicate or unstorable customer ids (an upstream bug, not a sync choice).

        ``known`` (customer_id, fingerprint, consent, ids_json: a synced state) lends its fingerprints to a
        ``MemberTable``'s members whose identifiers and consent it holds unchanged."""
        if isinstance(members, MemberTable):
            return _from_table(members, known)
        return _from_objects(list(members))


def _ints(values: Sequence[int] | Any) -> pa.Array:
    import pyarrow as pa

    return values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.int64())


def _from_objects(members: list[Member]) -> Snapshot:
    """Members as Python objects: every one is fingerprinted here."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cids = [m.customer_id for m in members]
    if any(not isinstance(c, str) or not c for c in cids):
        raise ValueError("snapshot has a customer_id that is empty or contains a tab/newline")
    fps = [member_fingerprint(m) for m in members]
    order = pc.sort_indices(pa.array(cids, type=pa.string()))
    ordered = [members[i] for i in order.to_pylist()]
    keys = pa.table(
        {
            "customer_id": pa.array([m.customer_id for m in ordered], type=pa.string()),
            "fingerprint": pa.array([fps[i] for i in order.to_pylist()], type=pa.string()),
            "consent": pa.array([m.consent for m in ordered], type=pa.bool_()),
        }
    )
    coverage: dict[str, int] = {}
    for m in ordered:
        for kind, values in m.identifiers.items():
            if any(values):
                coverage[kind] = coverage.get(kind, 0) + 1
    return _checked(keys, ordered, None, dict(sorted(coverage.items())))


def _from_table(table: MemberTable, known: pa.Table | None) -> Snapshot:
    """Members in columns: identifiers JSON and coverage in Arrow; fingerprints borrowed from ``known`` where the
    member is unchanged, computed in Python for the rest (and for rows with several values of a kind, or values the
    JSON encoder escapes)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    data = table.table
    cids = data.column("customer_id")
    if cids.null_count:
        raise ValueError("snapshot has a customer_id that is empty or contains a tab/newline")
    n = data.num_rows
    slow = np.zeros(n, dtype=bool)
    firsts = {}
    present_by_kind = {}
    for kind in table.kinds:
        first, length = _first_values(data.column(kind))
        present = pc.not_equal(first, "")
        slow |= length > 1
        if not _escape_free(first):  # hashes are hex: rarely anything to escape
            odd = _bools(pc.and_(present, pc.invert(pc.utf8_is_alnum(first))))
            if odd.any():
                slow |= odd & _bools(pc.match_substring_regex(first, _JSON_ESCAPED))
        firsts[kind] = first
        present_by_kind[kind] = _bools(present)
    ids_json = _ids_json(firsts, present_by_kind, n)
    slow_rows = slow.nonzero()[0]
    slow_members = table.members_at(slow_rows.tolist())
    if len(slow_rows):
        texts = [identifiers_json(m.identifiers) for m in slow_members]
        ids_json = pc.replace_with_mask(ids_json, pa.array(slow), pa.array(texts, type=pa.string()))
    coverage: dict[str, int] = {}
    for kind, present in present_by_kind.items():
        if count := int((present & ~slow).sum()):
            coverage[kind] = count
    for m in slow_members:
        for kind, values in m.identifiers.items():
            if any(values):
                coverage[kind] = coverage.get(kind, 0) + 1
    consent = data.column("consent") if "consent" in data.column_names else pa.repeat(True, n)
    keys = pa.table({"customer_id": cids, "consent": consent, "ids_json": ids_json})
    order = None if _ascending(cids) else pc.sort_indices(cids)  # snapshots are mostly written in order
    if order is not None:
        keys = keys.take(order)
    fingerprint, position = _borrowed_fingerprints(keys, known)
    missing = pc.is_null(fingerprint)
    todo = pc.indices_nonzero(missing)
    if len(todo):
        rows = np.asarray(todo if order is None else order.take(todo), dtype=np.int64)
        fresh = _fingerprints(rows[~slow[rows]], firsts, present_by_kind, consent)
        if slow[rows].any():  # several values of a kind, or odd values: the Member's own rule
            slow_fps = {
                int(row): member_fingerprint(m)
                for row, m in zip(rows[slow[rows]], table.members_at(rows[slow[rows]].tolist()), strict=True)
            }
            fast = iter(fresh)
            fresh = [slow_fps[int(row)] if slow[row] else next(fast) for row in rows]
        fingerprint = pc.replace_with_mask(fingerprint, missing, pa.array(fresh, type=pa.string()))
    keys = keys.add_column(1, "fingerprint", fingerprint)
    snapshot = _checked(keys, table, order, dict(sorted(coverage.items())))
    if known is not None and position is not None:
        snapshot.joined = (known, position)
    return snapshot


def _fingerprints(rows: Any, firsts: dict[str, pa.Array], present: dict[str, Any], consent: Any) -> list[str]:
    """``member_fingerprint`` of the members at ``rows`` (source order) that hold one value per kind: the hashed
    text is joined in Arrow and only the sha256 runs per member (a first sync hashes the whole audience)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(rows):
        return []
    picked = pa.array(rows, type=pa.int64())
    pieces = []
    for kind, first in firsts.items():  # ``table.kinds`` order: sorted, as ``member_fingerprint`` sorts them
        text = pc.binary_join_element_wise(kind + "\x1e", pc.take(first, picked), "")
        pieces.append(pc.if_else(pa.array(present[kind][rows]), text, pa.scalar(None, pa.string())))
    pieces.append(pc.if_else(pc.take(consent, picked), "c1", "c0"))
    texts = pc.binary_join_element_wise(*pieces, "\x1d", null_handling="skip")
    texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    _, offset_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int32, count=texts.offset + len(texts) + 1)[
        texts.offset :
    ]
    offsets = offsets.tolist()
    data = memoryview(data_buffer or b"")
    sha = hashlib.sha256
    return [
        sha(data[a:b]).hexdigest()[:FINGERPRINT_HEX] for a, b in zip(offsets[:-1], offsets[1:], strict=True)
    ]


def _first_values(column: Any) -> tuple[pa.Array, Any]:
    """Each row's first value of a ``list<string>`` column ("" for an empty or null list, or a null value) and the
    list lengths (0 for null), read from the list offsets: no per-row list is built or copied."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    firsts, lengths = [], []
    for chunk in chunks:
        offsets = np.asarray(chunk.offsets)  # into ``chunk.values``, slice offset included
        valid = np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        length = np.where(valid, offsets[1:] - offsets[:-1], 0)
        if len(chunk) and (length == 1).all():  # one value a row: the values are the firsts (no copy)
            firsts.append(chunk.values.slice(int(offsets[0]), len(chunk)))
        else:
            firsts.append(pc.take(chunk.values, pa.array(offsets[:-1], mask=length == 0)))
        lengths.append(length)
    if not firsts:
        return pa.array([], type=pa.string()), np.zeros(0, dtype=np.int64)
    first = pc.fill_null(pa.concat_arrays(firsts) if len(firsts) > 1 else firsts[0], "")
    return first, np.concatenate(lengths)


def _ids_json(firsts: dict[str, pa.Array], present: dict[str, Any], n: int) -> pa.Array:
    """The identifiers JSON of rows with one value per kind, in one string join where every kind is present (the
    common row), per kind only for the rows missing one. Rows with several values are replaced by the caller."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: list[Any] = []
    opening = "{"
    for kind, first in firsts.items():
        parts += [f'{opening}{_ENCODER.encode(kind)}:["', first]
        opening = '"],'
    if not parts:
        return pa.array(["{}"] * n, type=pa.string())
    full = pc.binary_join_element_wise(*parts, '"]}', "")
    partial = ~np.logical_and.reduce(list(present.values()))
    if not partial.any():
        return full
    rows = pa.array(partial.nonzero()[0])
    pieces = []
    for kind, first in firsts.items():
        value = pc.take(first, rows)
        piece = pc.binary_join_element_wise(_ENCODER.encode(kind) + ':["', value, '"],', "")
        pieces.append(pc.if_else(pc.not_equal(value, ""), piece, ""))
    # each piece ends with its comma; the last one is trimmed (null_handling="skip" drops all-null rows: Arrow 26)
    joined = pc.utf8_rtrim(pc.binary_join_element_wise(*pieces, ""), characters=",")
    some = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.replace_with_mask(full, pa.array(partial), some)


def _ascending(values: Any) -> bool:
    """Strictly ascending (so sorted, without duplicates): no sort and no reordering take needed."""
    import pyarrow.compute as pc

    n = len(values)
    if n < 2:
        return True
    flat = values.combine_chunks() if hasattr(values, "combine_chunks") else values
    return bool(pc.all(pc.less(flat.slice(0, n - 1), flat.slice(1))).as_py())


def _bools(values: Any) -> Any:
    import numpy as np

    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def _borrowed_fingerprints(keys: pa.Table, known: pa.Table | None) -> tuple[pa.Array, Any]:
    """The stored fingerprint where ``known`` holds the member with the same identifiers JSON and consent, else
    null (to be computed); and each row's position in ``known`` (-1: absent; None without ``known``). The JSON is
    compared ``SLICE_ROWS`` rows at a time: the stored text taken for the comparison stays a few MB, not a copy of
    the whole state's."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if known is None or known.num_rows == 0:
        return pa.nulls(keys.num_rows, type=pa.string()), None
    position = positions_in(keys.column("customer_id"), known.column("customer_id"))
    stored_json, stored_consent = known.column("ids_json"), known.column("consent")
    same = np.zeros(keys.num_rows, dtype=bool)
    for start in range(0, keys.num_rows, SLICE_ROWS):
        at = position[start : start + SLICE_ROWS]
        found = pa.array(at, mask=at < 0)
        rows = keys.slice(start, len(at))
        equal = pc.and_(
            pc.equal(pc.take(stored_json, found), rows.column("ids_json")),
            pc.equal(pc.take(stored_consent, found), rows.column("consent")),
        )
        same[start : start + len(at)] = _bools(pc.fill_null(equal, False))
    stored = pc.take(known.column("fingerprint"), pa.array(position, mask=~same))
    return (stored.combine_chunks() if isinstance(stored, pa.ChunkedArray) else stored), position


SLICE_ROWS = 64 * 1024
FIXED_WIDTH_MAX = 64  # longest customer id joined as fixed-width bytes (1M ids: at most 64 MB per side)


def positions_in(cids: Any, stored: Any) -> Any:
    """Each of ``cids``' row in ``stored`` (int64, -1 where absent); both sorted by customer_id, ``stored`` unique.

    A binary search of fixed-width bytes (numpy) where every id is ASCII without NUL and at most
    ``FIXED_WIDTH_MAX`` bytes, and ``stored`` is strictly ascending: NUL-padded, such ids order as Arrow sorts
    them. Anything else takes Arrow's hash lookup, which assumes no order."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    new = cids.combine_chunks() if isinstance(cids, pa.ChunkedArray) else cids
    old = stored.combine_chunks() if isinstance(stored, pa.ChunkedArray) else stored
    widths = (_fixed_width(new), _fixed_width(old)) if len(new) and len(old) else (0, 0)
    width = max(widths)
    if not min(widths) or width > FIXED_WIDTH_MAX or not _ascending(old):
        found = pc.index_in(new, value_set=old)
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    wanted, held = _padded(new, width), _padded(old, width)
    skip = _shared_prefix(new, old)
    if width - skip <= 8:  # the bytes after the prefix all ids share fit an integer: compare those instead
        wanted, held = _tail_integers(wanted, width, skip), _tail_integers(held, width, skip)
    at = np.minimum(np.searchsorted(held, wanted), len(held) - 1)
    return np.where(held[at] == wanted, at, -1).astype(np.int64)


def _fixed_width(ids: Any) -> int:
    """The longest id's length in bytes, or 0 when some id is not ASCII or holds a NUL (no fixed-width join)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if ids.type != pa.string():
        return 0
    low, high = _byte_span(ids)
    if low == 0 or high >= 0x80:  # a NUL, a byte of a multi-byte UTF-8 character, or no byte at all
        return 0
    return int(pc.max(pc.binary_length(ids)).as_py() or 0)


def _above_line_breaks(values: Any) -> bool:
    """Every byte of the text is above CR (0x0d): no tab, newline or carriage return, without a regex per value."""
    import pyarrow as pa

    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    return all(chunk.type == pa.string() and _byte_span(chunk)[0] > 0x0D for chunk in chunks if len(chunk))


def _escape_free(values: Any) -> bool:
    """No value holds a byte the JSON encoder escapes (a control character, ``"`` or a backslash): one pass over
    the bytes of the whole ``string`` array instead of a check per value."""
    import numpy as np
    import pyarrow as pa

    if not isinstance(values, pa.Array) or values.type != pa.string():
        return False
    low, _ = _byte_span(values)
    if low < 0x20:  # also no byte at all: the per-value check decides
        return False
    text = _text_bytes(values)
    scratch = np.empty(min(len(text), SCAN_BYTES), dtype=np.uint8)  # stays in cache: no 64 MB mask per test
    for start in range(0, len(text), SCAN_BYTES):
        part = text[start : start + SCAN_BYTES]
        for byte in (ord('"'), ord("\\")):
            np.bitwise_xor(part, byte, out=scratch[: len(part)])
            if not scratch[: len(part)].min():  # zero where the byte is
                return False
    return True


SCAN_BYTES = 256 * 1024


def _byte_span(ids: Any) -> tuple[int, int]:
    """The smallest and largest byte of the text a ``string`` array references ((0, 0) when there is none): one
    vectorised pass over its bytes viewed as integers, not a check per id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = _text_bytes(ids)
    if not len(text):
        return 0, 0
    span = pc.min_max(pa.array(text, type=pa.uint8()))  # a view of the bytes: no copy
    return int(span["min"].as_py()), int(span["max"].as_py())


def _shared_prefix(new: Any, old: Any) -> int:
    """How many leading bytes every id of both sides shares (e.g. ``cust-000``): those of the smallest and the
    largest id, when both sides are ascending (0 otherwise: nothing is skipped)."""
    import os

    if not _ascending(new):
        return 0
    ends = [new[0].as_py(), new[-1].as_py(), old[0].as_py(), old[-1].as_py()]
    return len(os.path.commonprefix([min(ends), max(ends)]))


def _tail_integers(ids: Any, width: int, skip: int) -> Any:
    """Padded ids without their first ``skip`` bytes as big-endian uint64 (at most 8 bytes remain): integers order
    as the bytes do, and numpy searches them several times faster than byte strings."""
    import numpy as np

    tail = ids.view(np.uint8).reshape(len(ids), width)[:, skip:]
    out = np.zeros((len(ids), 8), dtype=np.uint8)
    out[:, : tail.shape[1]] = tail
    return out.view(">u8").ravel().astype(np.uint64)


def _padded(ids: Any, width: int) -> Any:
    """ASCII ids as a numpy array of ``width``-byte strings, NUL-padded (one copy of the bytes)."""
    import numpy as np
    import pyarrow.compute as pc

    padded = pc.ascii_rpad(ids, width=width, padding="\x00")
    return np.frombuffer(padded.buffers()[2], dtype=f"S{width}", count=len(padded))


def _checked(
    keys: pa.Table, source: Sequence[Member] | MemberTable, order: pa.Array | None, coverage: dict[str, int]
) -> Snapshot:
    """Validate the sorted customer ids and hash (customer_id, fingerprint) pairs into the content id."""
    import pyarrow.compute as pc

    cids = keys.column("customer_id")
    if len(cids) and (
        pc.any(pc.equal(pc.binary_length(cids), 0)).as_py()
        or (not _above_line_breaks(cids) and pc.any(pc.match_substring_regex(cids, "[\t\n\r]")).as_py())
    ):
        raise ValueError("snapshot has a customer_id that is empty or contains a tab/newline")
    duplicates = 0
    if len(cids) > 1:
        flat = cids.combine_chunks()
        duplicates = pc.sum(pc.equal(flat.slice(1), flat.slice(0, len(flat) - 1))).as_py() or 0
    if duplicates:
        raise ValueError(f"snapshot has {duplicates} duplicate customer_id values; deduplicate upstream")
    return Snapshot(keys, _content_id(keys), source, order, coverage)


def _content_id(keys: pa.Table) -> str:
    """sha256 over ``customer_id TAB fingerprint LF`` for every member in order: the bytes of one Arrow column, or
    of fixed-width rows laid out with numpy a slice at a time where every id has one length."""
    import numpy as np
    import pyarrow.compute as pc

    digest = hashlib.sha256()
    if keys.num_rows and _fixed_rows(keys, digest):
        return digest.hexdigest()[:32]
    if keys.num_rows:
        lines = pc.binary_join_element_wise(
            keys.column("customer_id"), "\t", keys.column("fingerprint"), "\n", ""
        )
        for chunk in lines.chunks if hasattr(lines, "chunks") else [lines]:
            if not len(chunk):
                continue
            _, offset_buffer, data = chunk.buffers()
            offsets = np.frombuffer(offset_buffer, dtype=np.int32, count=chunk.offset + len(chunk) + 1)
            start, end = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
            digest.update(memoryview(data)[start:end])
    return digest.hexdigest()[:32]


def _fixed_rows(keys: pa.Table, digest: Any) -> bool:
    """Feed ``digest`` the content id's lines when every customer id has one length and every fingerprint has
    ``FINGERPRINT_HEX`` characters (False, untouched, otherwise)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cids, fps = (_one_chunk(keys.column(name)) for name in ("customer_id", "fingerprint"))
    if cids.type != pa.string() or fps.type != pa.string() or cids.null_count or fps.null_count:
        return False
    widths = pc.min_max(pc.binary_length(cids)).as_py()
    if widths["min"] != widths["max"] or pc.min_max(pc.binary_length(fps)).as_py() != {
        "min": FINGERPRINT_HEX,
        "max": FINGERPRINT_HEX,
    }:
        return False
    n, width = len(cids), int(widths["min"])
    id_bytes, fp_bytes = _text_bytes(cids).reshape(n, width), _text_bytes(fps).reshape(n, FINGERPRINT_HEX)
    line = np.empty((min(n, SLICE_ROWS), width + FINGERPRINT_HEX + 2), dtype=np.uint8)
    line[:, width] = ord("\t")
    line[:, -1] = ord("\n")
    for start in range(0, n, SLICE_ROWS):
        rows = line[: min(SLICE_ROWS, n - start)]
        rows[:, :width] = id_bytes[start : start + len(rows)]
        rows[:, width + 1 : -1] = fp_bytes[start : start + len(rows)]
        digest.update(rows)
    return True


def _one_chunk(values: Any) -> Any:
    import pyarrow as pa

    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _text_bytes(values: Any) -> Any:
    """The bytes a ``string`` array references, as a numpy view (no copy)."""
    import numpy as np

    _, offset_buffer, data = values.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int32, count=values.offset + len(values) + 1)
    start, end = int(offsets[values.offset]), int(offsets[values.offset + len(values)])
    return np.frombuffer(data, dtype=np.uint8)[start:end] if data is not None else np.zeros(0, dtype=np.uint8)
