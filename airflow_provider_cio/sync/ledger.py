"""The run ledger: what one run sent, one blob per acknowledged batch, so a retried task resumes instead of resending.

Layout under ``{base}/runs/{run_id}/``::

    plan.json                    plan summary and guard verdicts (also written by a dry run)
    sessions/{operation}.json    the session handle, written before the first batch of that operation
    sessions/{operation}.closing.json  the handle as an unfinished close left it (a resume closes from there)
    sessions/{operation}.closed.json   what closing the session returned (a resume does not close it twice)
    batches/{operation}-{seq:06d}.json   one per acknowledged batch: sizes, response counts, session handle
    done.json                    the final report (the run finished)

One blob per batch keeps every write a single small commit: a crash can lose at most the record of the batch in
flight, never corrupt records of earlier ones. ``run_id`` ties the snapshot to the state it was diffed against, so
the same snapshot synced again later on top of a different state is a new run, not a stale resume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airflow_provider_cio.landing.layout import LEDGER_DONE_NAME, ledger_run
from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore
from airflow_provider_cio.sync.destination import Operation, SessionState


@dataclass(frozen=True)
class BatchRecord:
    operation: str
    seq: int
    size: int
    received: int
    invalid: int
    status: str  # "acknowledged" | "rejected"
    request_id: str | None
    session: dict[str, Any]

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()


class Ledger:
    """Ledger of one run."""

    def __init__(self, store: ObjectStore, base: str, run_id: str) -> None:
        self._store = store
        self.prefix = ledger_run(base, run_id)

    def url(self) -> str:
        return self._store.url(self.prefix)

    def _json(self, path: str) -> Any:
        return json.loads(self._store.read_bytes(path))

    def write_plan(self, document: dict[str, Any]) -> str:
        path = f"{self.prefix}/plan.json"
        self._store.write_bytes(path, json.dumps(document, indent=1, sort_keys=True).encode())
        return path

    def is_done(self) -> bool:
        return self._store.exists(f"{self.prefix}/{LEDGER_DONE_NAME}")

    def finish(self, report: dict[str, Any]) -> None:
        self._store.write_bytes(
            f"{self.prefix}/{LEDGER_DONE_NAME}", json.dumps(report, indent=1, sort_keys=True).encode()
        )

    def save_session(self, session: SessionState) -> None:
        doc = {"operation": session.operation, "handle": session.handle}
        self._store.write_bytes(f"{self.prefix}/sessions/{session.operation}.json", json.dumps(doc).encode())

    def load_session(self, operation: Operation) -> SessionState | None:
        try:
            doc = self._json(f"{self.prefix}/sessions/{operation}.json")
        except BlobNotFound:
            return None
        return SessionState(operation=operation, handle=dict(doc["handle"]))

    def save_closing(self, session: SessionState) -> None:
        """The session as a close that did not finish left it (request ids polled, a sweep sent): the next attempt
        closes from here instead of sending what the handle says was already sent."""
        doc = {"operation": session.operation, "handle": session.handle}
        self._store.write_bytes(
            f"{self.prefix}/sessions/{session.operation}.closing.json", json.dumps(doc).encode()
        )

    def load_closing(self, operation: Operation) -> SessionState | None:
        try:
            doc = self._json(f"{self.prefix}/sessions/{operation}.closing.json")
        except BlobNotFound:
            return None
        return SessionState(operation=operation, handle=dict(doc["handle"]))

    def save_closed(self, operation: Operation, stats: dict[str, Any]) -> None:
        self._store.write_bytes(f"{self.prefix}/sessions/{operation}.closed.json", json.dumps(stats).encode())

    def load_closed(self, operation: Operation) -> dict[str, Any] | None:
        try:
            return dict(self._json(f"{self.prefix}/sessions/{operation}.closed.json"))
        except BlobNotFound:
            return None

    def record_batch(self, record: BatchRecord) -> None:
        path = f"{self.prefix}/batches/{record.operation}-{record.seq:06d}.json"
        self._store.write_bytes(path, record.to_json())

    def acknowledged(self, operation: Operation) -> dict[int, BatchRecord]:
        """Batches of ``operation`` the platform acknowledged (or refused as data) in earlier attempts."""
        out: dict[int, BatchRecord] = {}
        for path in self._store.list(f"{self.prefix}/batches/{operation}-"):
            record = BatchRecord(**self._json(path))
            out[record.seq] = record
        return out
