"""The local append-only journal: an event is acknowledged only once it is here and fsync'd.

One segment file per hour of receipt (``2026-12-06T18.journal``); each record is ``<length><crc32><json row>``.
Concurrent requests share one fsync (group commit: the writer thread takes every record queued while the previous
fsync ran), which is what lets one receiver ack thousands of events a second durably. The journal also owns the
``event_id`` index: an id it already holds is a duplicate (Customer.io re-sends an event whose ack it did not get);
a duplicate of an event still on its way to the disk waits for that write before it is acknowledged.

A crash can leave a torn last record: it was never fsync'd, so never acknowledged; replay drops it and truncates.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import struct
import threading
import zlib
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow_provider_cio.errors import CioError, ErrorClass

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")  # payload length, crc32 of the payload
_SUFFIX = ".journal"
_MAX_GROUP = 4096  # records written under one fsync at most


def hour_key(received_at_us: int) -> str:
    """The hour of receipt a row belongs to: ``YYYY-MM-DDTHH`` (UTC)."""
    return datetime.fromtimestamp(received_at_us / 1_000_000, UTC).strftime("%Y-%m-%dT%H")


@dataclass
class Submitted:
    """What one request added: wait on ``durable``; ``duplicates`` were already held."""

    durable: Future[None]
    new: int
    duplicates: int


class JournalError(CioError, OSError):
    """The journal could not make an event durable; the request is answered 503 and Customer.io retries."""

    error_class = ErrorClass.PLATFORM


class Journal:
    """Hour segments under ``directory``; use ``open()`` (replays what is there) before ``submit``."""

    def __init__(self, directory: Path, *, fsync: bool = True) -> None:
        """``fsync=False`` only for benchmarks of the fsync's own cost: acks are then not crash-safe."""
        self.directory = directory
        self._fsync = fsync
        self._lock = threading.Lock()
        self._index: dict[str, str] = {}  # event_id -> hour
        self._pending: dict[str, Future[None]] = {}  # event_id -> its write, until durable
        self._durable_size: dict[str, int] = {}
        self._records: dict[str, int] = {}
        self._files: dict[str, Any] = {}
        self._queue: queue.Queue[tuple[list[tuple[str, str, bytes]], Future[None]] | None] = queue.Queue()
        self._writer: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------------------------
    def open(self) -> Journal:
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            hour = path.name.removesuffix(_SUFFIX)
            good, rows = _scan(path)
            if good < path.stat().st_size:
                log.warning("journal %s: dropping a torn last record (never acknowledged)", path.name)
                os.truncate(path, good)
            for row in rows:
                self._index.setdefault(str(row["event_id"]), hour)
            self._durable_size[hour] = good
            self._records[hour] = len(rows)
        self._writer = threading.Thread(target=self._write_loop, name="webhook-journal", daemon=True)
        self._writer.start()
        return self

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    # -- writes --------------------------------------------------------------------------------------------------
    def submit(self, rows: list[dict[str, Any]]) -> Submitted:
        """Queue the rows not held yet; the future resolves when they (and held ones still in flight) are durable."""
        durable: Future[None] = Future()
        fresh: list[tuple[str, str, bytes]] = []
        waits: list[Future[None]] = []
        with self._lock:
            for row in rows:
                event_id = str(row["event_id"])
                if event_id in self._index:
                    pending = self._pending.get(event_id)
                    if pending is not None and pending is not durable:
                        waits.append(pending)
                    continue
                hour = hour_key(int(row["received_at"]))
                self._index[event_id] = hour
                self._pending[event_id] = durable
                fresh.append((event_id, hour, json.dumps(row, separators=(",", ":")).encode()))
        duplicates = len(rows) - len(fresh)
        if fresh:
            self._queue.put((fresh, durable))
        else:
            durable.set_result(None)
        if waits:
            return Submitted(_all_of([durable, *waits]), len(fresh), duplicates)
        return Submitted(durable, len(fresh), duplicates)

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            stop = False
            while len(group) < _MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._write_group(group)
            if stop:
                return

    def _write_group(self, group: list[tuple[list[tuple[str, str, bytes]], Future[None]]]) -> None:
        touched: dict[str, int] = {}
        try:
            for records, _ in group:
                for _event_id, hour, payload in records:
                    handle = self._segment(hour)
                    handle.write(_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
                    touched[hour] = touched.get(hour, 0) + 1
            for hour in touched:
                handle = self._files[hour]
                handle.flush()
                if self._fsync:
                    os.fsync(handle.fileno())
        except OSError as exc:
            error = JournalError(
                f"the journal could not write {sum(touched.values())} events: {exc.strerror}"
            )
            with self._lock:
                for records, _ in group:
                    for event_id, _hour, _payload in records:
                        self._index.pop(event_id, None)
                        self._pending.pop(event_id, None)
                self._rewind(set(touched) | {hour for records, _ in group for _e, hour, _p in records})
            for _, future in group:
                future.set_exception(error)
            return
        with self._lock:
            for hour, count in touched.items():
                self._durable_size[hour] = self._files[hour].tell()
                self._records[hour] = self._records.get(hour, 0) + count
            for records, _ in group:
                for event_id, _hour, _payload in records:
                    self._pending.pop(event_id, None)
        for _, future in group:
            future.set_result(None)

    def _rewind(self, hours: set[str]) -> None:
        """After a failed write, cut each segment back to its last durable record, so a later append never follows
        a half-written one (replay would stop there and lose acknowledged events)."""
        for hour in hours:
            handle = self._files.pop(hour, None)
            if handle is None:
                continue
            with contextlib.suppress(OSError):
                handle.close()
            try:
                os.truncate(self.directory / f"{hour}{_SUFFIX}", self._durable_size.get(hour, 0))
            except OSError:
                log.warning("journal %s: could not cut back a failed write", hour)

    def _segment(self, hour: str) -> Any:
        handle = self._files.get(hour)
        if handle is None:
            path = self.directory / f"{hour}{_SUFFIX}"
            created = not path.exists()
            handle = path.open("ab")
            self._files[hour] = handle
            if created and self._fsync:  # the new name itself must survive a crash
                fd = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return handle

    # -- reads ---------------------------------------------------------------------------------------------------
    def hours(self) -> dict[str, int]:
        """Each hour held and its durable size in bytes (what a flush may land)."""
        with self._lock:
            return dict(self._durable_size)

    def records(self) -> int:
        with self._lock:
            return sum(self._records.values())

    def read(self, hour: str, start: int, end: int) -> list[dict[str, Any]]:
        """The rows of ``hour`` between two durable offsets."""
        path = self.directory / f"{hour}{_SUFFIX}"
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read(end - start)
        rows, _ = _records(data)
        return rows

    def drop(self, hour: str) -> int:
        """Forget an hour past the dedupe window: its ids may be landed again if Customer.io sends them again."""
        path = self.directory / f"{hour}{_SUFFIX}"
        with self._lock:
            handle = self._files.pop(hour, None)
            if handle is not None:
                handle.close()
            self._durable_size.pop(hour, None)
            self._records.pop(hour, None)
            dropped = [event_id for event_id, held in self._index.items() if held == hour]
            for event_id in dropped:
                del self._index[event_id]
        path.unlink(missing_ok=True)
        return len(dropped)


def _scan(path: Path) -> tuple[int, list[dict[str, Any]]]:
    rows, good = _records(path.read_bytes())
    return good, rows


def _records(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """Complete records in ``data`` and the offset after the last good one (a torn or corrupt tail stops it)."""
    rows: list[dict[str, Any]] = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = data[start : start + length]
        if len(payload) < length or zlib.crc32(payload) != crc:
            break
        rows.append(json.loads(payload))
        offset = start + length
    return rows, offset


def _all_of(futures: list[Future[None]]) -> Future[None]:
    """One future done when all are; the first failure wins."""
    combined: Future[None] = Future()
    remaining = [len(futures)]
    lock = threading.Lock()

    def done(future: Future[None]) -> None:
        with lock:
            if combined.done():
                return
            error = future.exception()
            if error is not None:
                combined.set_exception(error)
                return
            remaining[0] -= 1
            if remaining[0] == 0:
                combined.set_result(None)

    for future in futures:
        future.add_done_callback(done)
    return combined
