"""The store-level gate: read a landed partition through its manifest, validate it, publish the report next to it.

Trailing row counts come from the trailing partitions' manifests only (no data reads). The result JSON and the
HTML report are written under ``ref.quality_prefix``; the returned ``GateResult`` points at them, so the XCom
summary and the on-call message can say where to look.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_cio.landing.layout import QUALITY_REPORT_NAME, QUALITY_RESULT_NAME
from airflow_provider_cio.quality.contract import Contract
from airflow_provider_cio.quality.errors import PartitionInconsistent, PartitionMissing
from airflow_provider_cio.quality.loader import load_contract
from airflow_provider_cio.quality.report_html import render_html
from airflow_provider_cio.quality.result import GateResult
from airflow_provider_cio.quality.validate import Engine, validate_partition
from airflow_provider_cio.storage.base import ObjectStore

if TYPE_CHECKING:
    from airflow_provider_cio.landing.layout import PartitionRef

log = logging.getLogger(__name__)

RESULT_NAME = QUALITY_RESULT_NAME  # the layout's names, kept here for callers that join them to a prefix
REPORT_NAME = QUALITY_REPORT_NAME


def _partition_key(ref: PartitionRef) -> tuple[object, int]:
    return (ref.dt, -1 if ref.hr is None else ref.hr)


def trailing_row_counts(store: ObjectStore, ref: PartitionRef, trailing_n: int) -> list[int]:
    """Row counts of the ``trailing_n`` committed partitions before ``ref`` (same granularity), from manifests."""
    from airflow_provider_cio.landing.reader import (
        PartitionCorrupt,
        PartitionNotFound,
        list_partitions,
        read_manifest,
    )

    if trailing_n <= 0:
        return []
    earlier = [
        other
        for other in list_partitions(store, ref.root, ref.env, ref.workspace, ref.dataset)
        if (other.hr is None) == (ref.hr is None) and _partition_key(other) < _partition_key(ref)
    ]
    counts: list[int] = []
    for other in earlier[-trailing_n:]:
        try:
            counts.append(read_manifest(store, other).rows)
        except (
            PartitionNotFound,
            PartitionCorrupt,
        ) as exc:  # a broken neighbour must not block this partition
            log.warning("skipping trailing partition %s for row-count history: %s", other.prefix, exc)
    return counts


def run_gate(
    store: ObjectStore,
    ref: PartitionRef,
    *,
    contract: Contract | None = None,
    trailing_n: int = 7,
    interval_start: datetime | None = None,
    interval_end: datetime,
    search_paths: Iterable[str | Path] = (),
    engine: Engine = "duckdb",
) -> GateResult:
    """Validate the committed partition ``ref`` and write ``_quality/result.json`` and ``_quality/report.html``.

    Raises ``PartitionMissing`` (no manifest), ``PartitionInconsistent`` (manifest vs files), ``EmptyPartition``,
    ``ContractNotFound``/``ContractError``; returns the result whether or not it passed (the caller decides to
    raise ``QualityGateFailed``).
    """
    from airflow_provider_cio.landing.reader import (
        PartitionCorrupt,
        PartitionNotFound,
        fetch_committed,
        read_manifest,
    )

    contract = contract or load_contract(ref.dataset, search_paths=search_paths)
    try:
        manifest = read_manifest(store, ref)
    except PartitionNotFound as exc:
        raise PartitionMissing(
            f"quality gate cannot run: partition {ref.label} ({ref.prefix}) is missing: {exc}"
        ) from exc
    except PartitionCorrupt as exc:
        raise PartitionInconsistent(f"quality gate cannot run on {ref.label}: {exc}") from exc
    history = trailing_row_counts(store, ref, trailing_n)
    with tempfile.TemporaryDirectory(prefix="cio-gate-") as tmp:
        try:
            # one whole generation: the one just read, or the one that replaced it during the download
            manifest, files = fetch_committed(store, ref, Path(tmp))
        except PartitionNotFound as exc:
            raise PartitionMissing(
                f"quality gate cannot run: partition {ref.label} is missing: {exc}"
            ) from exc
        except PartitionCorrupt as exc:
            raise PartitionInconsistent(f"quality gate cannot run on {ref.label}: {exc}") from exc
        result = validate_partition(
            files,
            contract,
            interval_start=interval_start,
            interval_end=interval_end,
            trailing_row_counts=history,
            manifest_rows=manifest.rows,
            partition=ref.label.split(" ", 1)[-1],
            engine=engine,
            absent_at_source=manifest.absent_columns,
        )
    result.generation = manifest.generation or None
    result_path = ref.quality_result_path
    report_path = ref.quality_report_path
    result.result_url = store.url(result_path)
    result.report_url = store.url(report_path)
    store.write_bytes(result_path, result.to_json())
    store.write_bytes(report_path, render_html(result).encode("utf-8"))
    return result
