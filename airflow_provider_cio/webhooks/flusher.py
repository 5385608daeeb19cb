"""Micro-batches: the journal's durable events land as the hour partition they were received in.

Every ``interval`` seconds each hour with events not landed yet is committed again, whole, as a new generation of
``webhook_events/dt=YYYY-MM-DD/hr=HH`` through the landing writer (parts, then the manifest: atomic like every other
landing). The partition is a function of the journal (rows between offsets already fsync'd), so a flush repeated
after a crash writes the same rows again: each acknowledged event is landed exactly once. An hour stays in the
journal for ``retention_hours`` after it ends, which is also how long a re-sent ``event_id`` is recognised.

One receiver writes one (env, workspace): two receivers would replace each other's hour partitions.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.webhooks.journal import Journal

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_cio.storage.base import ObjectStore

log = logging.getLogger(__name__)

DATASET = "webhook_events"
SOURCE = "customerio_reporting_webhooks"
DEFAULT_INTERVAL_SECONDS = 60.0
DEFAULT_RETENTION_HOURS = 72


@dataclass
class FlushStats:
    commits: int = 0
    failures: int = 0
    landed_events: int = 0  # rows of the latest commit of each hour held, summed
    last_commit_at: str | None = None
    last_failure: str | None = None
    per_hour: dict[str, int] = field(default_factory=dict)


class Flusher:
    """Lands the journal; ``flush_once`` is the whole job, ``start`` runs it every ``interval`` seconds."""

    def __init__(
        self,
        journal: Journal,
        store: ObjectStore,
        *,
        root: str,
        env: str,
        workspace: str,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        retention_hours: int = DEFAULT_RETENTION_HOURS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.journal = journal
        self.store = store
        self.root, self.env, self.workspace = root, env, workspace
        self.interval = interval
        self.retention = timedelta(hours=retention_hours)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._state_path = journal.directory / "flushed.json"
        self._flushed: dict[str, int] = _load(self._state_path)
        self._cache: dict[str, tuple[int, list[pa.Table]]] = {}  # hour -> (offset read, chunks)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = FlushStats()

    def start(self) -> Flusher:
        # Arrow, Parquet and the landing writer take seconds of CPU to import (pyarrow pulls pandas): pay it before
        # the first request, not in the first flush, where it stalled acknowledgements for 2.5 s
        import pyarrow.compute
        import pyarrow.parquet  # noqa: F401

        from airflow_provider_cio.landing.writer import PartitionWriter  # noqa: F401

        self._thread = threading.Thread(target=self._loop, name="webhook-flusher", daemon=True)
        self._thread.start()
        return self

    def stop(self, *, final_flush: bool = True) -> None:
        """Stop the loop; ``final_flush`` lands what is durable first (a clean shutdown loses no minute)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if final_flush:
            self.flush_once()

    def pending_hours(self) -> list[str]:
        """Hours holding durable events that are not landed yet."""
        return sorted(
            hour for hour, size in self.journal.hours().items() if size > self._flushed.get(hour, 0)
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush_once()

    def flush_once(self) -> list[str]:
        """Commit every hour with durable events not landed yet, oldest first; returns the hours committed."""
        with self._lock:
            committed: list[str] = []
            for hour, size in sorted(self.journal.hours().items()):
                if size <= self._flushed.get(hour, 0):
                    continue
                try:
                    rows = self._commit(hour, size)
                except Exception as exc:  # the events stay durable in the journal; the next flush retries
                    self.stats.failures += 1
                    self.stats.last_failure = f"{hour}: {type(exc).__name__}"
                    log.warning(
                        "webhook_events hour %s not landed this time (%s: %s); retrying in %.0f s",
                        hour,
                        type(exc).__name__,
                        exc,
                        self.interval,
                    )
                    break  # oldest first: a later hour waits, like Customer.io's own backlog
                self._flushed[hour] = size
                _save(self._state_path, self._flushed)
                self.stats.commits += 1
                self.stats.per_hour[hour] = rows
                self.stats.landed_events = sum(self.stats.per_hour.values())
                self.stats.last_commit_at = self._clock().isoformat(timespec="seconds")
                committed.append(hour)
            self._expire()
            return committed

    def _commit(self, hour: str, size: int) -> int:
        import pyarrow as pa
        import pyarrow.compute as pc

        from airflow_provider_cio.datasets import arrow_schema
        from airflow_provider_cio.landing.layout import PartitionRef
        from airflow_provider_cio.landing.writer import PartitionWriter

        schema = arrow_schema(DATASET)
        offset, chunks = self._cache.get(hour, (0, []))
        if size > offset:
            rows = self.journal.read(hour, offset, size)
            if rows:
                chunks = [*chunks, pa.Table.from_pylist(rows, schema=schema)]
            self._cache[hour] = (size, chunks)
        table = pa.concat_tables(chunks) if chunks else schema.empty_table()
        # the journal holds each id once; a row repeated after a crash mid-segment would show here, keep the first
        if pc.count_distinct(table.column("event_id")).as_py() != table.num_rows:
            ids = table.column("event_id").to_pylist()
            seen: set[str] = set()
            keep = [not (i in seen or seen.add(i)) for i in ids]  # type: ignore[func-returns-value]
            table = table.filter(pa.array(keep))
        when = datetime.strptime(hour, "%Y-%m-%dT%H")
        ref = PartitionRef(
            self.root, self.env, self.workspace, DATASET, date(when.year, when.month, when.day), when.hour
        )
        started = time.monotonic()
        with PartitionWriter(
            self.store,
            ref,
            schema,
            source=SOURCE,
            source_ids=[f"journal:{hour}:{size}"],
            max_rejected_rate=0.0,
        ) as writer:
            for batch in table.to_batches(max_chunksize=256 * 1024):
                writer.write_batch(batch)
            manifest = writer.commit()
        log.info(
            "landed %s: %d webhook events (generation %s, %.2f s)",
            ref.label,
            manifest.rows,
            manifest.generation,
            time.monotonic() - started,
        )
        return manifest.rows

    def _expire(self) -> None:
        """Hours past the retention: forget them (journal and cache), once landed. Closed hours drop their cache."""
        now = self._clock()
        for hour, size in sorted(self.journal.hours().items()):
            end = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC) + timedelta(hours=1)
            landed = size <= self._flushed.get(hour, 0)
            if landed and now - end > timedelta(minutes=10):
                self._cache.pop(hour, None)
            if landed and now - end > self.retention:
                forgotten = self.journal.drop(hour)
                self._flushed.pop(hour, None)
                self.stats.per_hour.pop(hour, None)
                _save(self._state_path, self._flushed)
                log.info("journal hour %s past the dedupe window: %d event ids forgotten", hour, forgotten)


def _load(path: Path) -> dict[str, int]:
    try:
        raw: Any = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _save(path: Path, flushed: dict[str, int]) -> None:
    """Atomic replace; losing it is harmless (the hour is landed again, the same rows)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(flushed, sort_keys=True))
    os.replace(tmp, path)
