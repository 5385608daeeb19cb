"""The last SUCCESSFULLY synced membership of one audience, kept in Blob.

Two objects: a customer_id-sorted Parquet file of ``customer_id, fingerprint, consent, sent_on, ids_json`` (the
hashed identifiers are kept because removing a departed member needs them; ``sent_on`` is the UTC date the member was
last uploaded, so memberships that lapse on the platform are re-sent in time) and a small ``state.json`` pointer
written last. Readers follow the pointer, so a crash between the two writes leaves the previous state in force.
The state is read and written as Arrow columns (``read_table`` / ``write(table=...)``): a plan diffs it in C++, and
no Python object is built per member. States of versions 1 and 2 (gzip'd TSV lines; version 1 lines have no
``sent_on`` and read as sent on the state's date) are still read, once, and the next write is Parquet.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from airflow_provider_cio.landing.layout import ledger_state_dir, ledger_state_pointer
from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore
from airflow_provider_cio.sync.destination import Member

if TYPE_CHECKING:
    import pyarrow as pa

STATE_VERSION = 3
STATE_COLUMNS = ("customer_id", "fingerprint", "consent", "sent_on", "ids_json")
# ``sent_on`` of a member a removal may have taken with it (``SyncPlan.resend_next``): the next run sends it again.
# Earlier than any real date, so a state holding one has it as its ``oldest_sent_on`` and is never "already synced".
RESEND_SENT_ON = "0001-01-01"


@dataclass(frozen=True)
class StateInfo:
    """The pointer: which snapshot is in the audience as far as we know, and where its members are."""

    snapshot_id: str
    run_id: str
    size: int
    mode: str
    members_path: str
    audience_id: str
    synced_at: str
    version: int = STATE_VERSION
    # the data time the synced snapshot describes (its interval end, ISO 8601 UTC); "" when unknown (older states)
    as_of: str = ""
    # members of the snapshot whose requests the platform accepted but did not apply: they are stored as before
    # this run (absent, or their previous row), so the same snapshot is not "already synced" and is sent again
    unapplied: int = 0
    # the earliest ``sent_on`` of its members ("" unknown): a run finds nothing due for refresh without reading them
    oldest_sent_on: str = ""

    @property
    def synced_on(self) -> str:
        """The UTC date of this state: the ``sent_on`` of version 1 lines, which did not record one."""
        return self.synced_at[:10]


@dataclass(frozen=True)
class StateLine:
    """One stored member; the identifier JSON is decoded only for members that must be removed."""

    customer_id: str
    fingerprint: str
    raw: str  # the full line without newline

    @property
    def sent_on(self) -> str:
        """``YYYY-MM-DD`` of the last upload, "" when the line does not say (version 1). Sliced, not split: the
        refresh check reads it for every unchanged member."""
        start = len(self.customer_id) + len(self.fingerprint) + 4  # two tabs, the consent flag, a tab
        field = self.raw[start : start + 11]
        return field[:10] if field[10:] == "\t" else ""

    @property
    def consent(self) -> bool:
        return self.raw[len(self.customer_id) + len(self.fingerprint) + 2] == "1"

    @property
    def ids_json(self) -> str:
        return self.raw.rsplit("\t", 1)[1]  # identifier JSON never holds a raw tab

    def to_member(self) -> Member:
        identifiers = {kind: tuple(values) for kind, values in json.loads(self.ids_json).items()}
        return Member(customer_id=self.customer_id, identifiers=identifiers, consent=self.consent)

    def with_sent_on(self, default: str) -> str:
        """The line in the current format; a line that does not say when it was sent takes ``default``."""
        if self.sent_on:
            return self.raw
        return format_line(self.customer_id, self.fingerprint, self.consent, self.ids_json, sent_on=default)


def format_line(
    customer_id: str, fingerprint: str, consent: bool, ids_json: str, *, sent_on: str = ""
) -> str:
    return f"{customer_id}\t{fingerprint}\t{'1' if consent else '0'}\t{sent_on}\t{ids_json}"


class StateStore:
    """Reads and writes the state of one (platform, audience) under ``base`` in an ``ObjectStore``."""

    def __init__(self, store: ObjectStore, base: str) -> None:
        self._store = store
        self.pointer_path = ledger_state_pointer(base)
        self._members_dir = ledger_state_dir(base)
        self._read: tuple[str, pa.Table] | None = None  # the last table read: a run reads its base state once

    def load(self) -> StateInfo | None:
        try:
            raw = self._store.read_bytes(self.pointer_path)
        except BlobNotFound:
            return None
        known = set(StateInfo.__dataclass_fields__)
        return StateInfo(**{key: value for key, value in json.loads(raw).items() if key in known})

    def read_table(self, info: StateInfo | None) -> pa.Table:
        """Stored members in customer_id order as Arrow columns (``STATE_COLUMNS``; no rows without a state).
        ``sent_on`` is "" where the member's line did not say (version 1)."""
        import pyarrow.parquet as pq

        if info is None:
            return lines_table(())
        if self._read is not None and self._read[0] == info.members_path:
            return self._read[1]
        if info.members_path.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(self._store.read_bytes(info.members_path))).combine_chunks()
        else:
            table = lines_table(self._iter_tsv(info))
        self._read = (info.members_path, table)
        return table

    def iter_lines(self, info: StateInfo | None) -> Iterator[StateLine]:
        """Stored members in customer_id order (nothing when there is no state yet)."""
        if info is None:
            return
        if info.members_path.endswith(".parquet"):
            table = self.read_table(info)
            for batch in table.to_batches(max_chunksize=64 * 1024):
                columns = [batch.column(name).to_pylist() for name in STATE_COLUMNS]
                for cid, fp, consent, sent_on, ids in zip(*columns, strict=True):
                    yield StateLine(cid, fp, format_line(cid, fp, consent, ids, sent_on=sent_on))
            return
        yield from self._iter_tsv(info)

    def _iter_tsv(self, info: StateInfo) -> Iterator[StateLine]:
        """Lines of a version 1 or 2 state (gzip'd TSV)."""
        inflater = zlib.decompressobj(wbits=31)
        pending = b""
        for chunk in self._store.open_chunks(info.members_path):
            pending += inflater.decompress(chunk)
            *complete, pending = pending.split(b"\n")
            yield from (_parse(line) for line in complete if line)
        pending += inflater.flush()
        for line in pending.split(b"\n"):
            if line:
                yield _parse(line)

    def write(
        self,
        *,
        snapshot_id: str,
        run_id: str,
        mode: str,
        audience_id: str,
        lines: Iterable[str] = (),
        table: pa.Table | None = None,
        as_of: datetime | None = None,
        unapplied: int = 0,
        oldest_sent_on: Callable[[], str] = str,
    ) -> StateInfo:
        """Write the members file, then the pointer (the commit point). The members are ``table`` (columns
        ``STATE_COLUMNS``, sorted by customer_id) or else ``lines`` (``format_line`` strings, in order).
        ``oldest_sent_on`` is asked once they are written (the caller may track it while producing lines)."""
        import pyarrow.parquet as pq

        members_path = f"{self._members_dir}/{run_id}.parquet"
        if table is None:
            table = lines_table(_parse(line.encode("utf-8")) for line in lines)
        table = table.select(list(STATE_COLUMNS))
        buffer = io.BytesIO()
        pq.write_table(
            table,
            buffer,
            compression="zstd",
            compression_level=1,
            row_group_size=128 * 1024,
            use_dictionary=False,
        )
        self._store.write_bytes(members_path, buffer.getvalue())
        info = StateInfo(
            snapshot_id=snapshot_id,
            run_id=run_id,
            size=table.num_rows,
            mode=mode,
            members_path=members_path,
            audience_id=audience_id,
            synced_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            as_of=(as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
            if as_of
            else "",
            unapplied=unapplied,
            oldest_sent_on=oldest_sent_on(),
        )
        self._store.write_bytes(self.pointer_path, json.dumps(asdict(info), indent=1).encode())
        return info


def lines_table(lines: Iterable[StateLine]) -> pa.Table:
    """State lines (TSV, versions 1 and 2) as the Arrow columns of ``STATE_COLUMNS``."""
    import pyarrow as pa

    columns: dict[str, list[object]] = {name: [] for name in STATE_COLUMNS}
    for line in lines:
        columns["customer_id"].append(line.customer_id)
        columns["fingerprint"].append(line.fingerprint)
        columns["consent"].append(line.consent)
        columns["sent_on"].append(line.sent_on)
        columns["ids_json"].append(line.ids_json)
    types = {"consent": pa.bool_()}
    return pa.table(
        {name: pa.array(values, type=types.get(name, pa.string())) for name, values in columns.items()}
    )


def _parse(line: bytes) -> StateLine:
    text = line.decode("utf-8")
    cid, fp, _rest = text.split("\t", 2)
    return StateLine(cid, fp, text)
