"""``run_sync`` with a module's fixed request: a test passes its members and the fields it is about, nothing else."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from airflow_provider_cio.storage.base import ObjectStore
from airflow_provider_cio.sync import Destination, SyncReport, SyncRequest, SyncRuntime, run_sync


def sync_with(base: SyncRequest) -> Callable[..., SyncReport]:
    """``sync(destination, store, members=..., runtime=None, **fields)``: ``base`` with ``fields`` replaced."""

    def sync(
        destination: Destination, store: ObjectStore, *, runtime: SyncRuntime | None = None, **fields: Any
    ) -> SyncReport:
        return run_sync(destination, store, dataclasses.replace(base, **fields), runtime=runtime)

    return sync
