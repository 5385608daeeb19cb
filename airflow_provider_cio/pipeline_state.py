"""What the reference pipeline left in Blob for one day (or one hour of it, the hourly cart DAG's partitions):
landed partitions and their gates, audience snapshots and their gates, where each audience's sync ledger stands, and
the latest holdout lift report.

One reader of the final state, so ``make demo`` (prints it) and ``make test-distributed`` (asserts on it, in
``scripts/distributed/check_state.py``) can never disagree about where things live. Plain Python: no Airflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airflow_provider_cio.dag_config import CioDagConfig
from airflow_provider_cio.landing.layout import (
    AUDIENCES_ROOT,
    LANDING_ROOT,
    PartitionRef,
    ledger_root,
    ledger_run_done,
    ledger_state_pointer,
)
from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore


def read_json(store: ObjectStore, path: str) -> dict[str, Any]:
    """The JSON object at ``path``, or ``{}`` when it is not there (not landed, not gated, never synced)."""
    try:
        return dict(json.loads(store.read_bytes(path)))
    except BlobNotFound:
        return {}


def gate_status(verdict: dict[str, Any]) -> str:
    """``passed``, ``FAILED`` or ``not gated`` for a gate's ``_quality/result.json``."""
    return "passed" if verdict.get("success") else ("FAILED" if verdict else "not gated")


@dataclass(frozen=True)
class Partition:
    """One dataset's day in the landing zone: its manifest and its gate's verdict (``{}`` when missing)."""

    dataset: str
    prefix: str
    manifest: dict[str, Any]
    verdict: dict[str, Any]

    @property
    def gate(self) -> str:
        return gate_status(self.verdict)


@dataclass(frozen=True)
class SyncState:
    """One audience on one platform: the ledger's current state and the final report of the run that wrote it."""

    platform: str
    ledger: str
    state: dict[str, Any]
    done: dict[str, Any]


@dataclass(frozen=True)
class AudienceState:
    """One audience's snapshot for the day (stats, gate verdict) and its syncs, one per configured destination."""

    name: str
    prefix: str
    stats: dict[str, Any]
    verdict: dict[str, Any]
    syncs: tuple[SyncState, ...]

    @property
    def gate(self) -> str:
        return gate_status(self.verdict)


def _ref(root: str, cfg: CioDagConfig, dataset: str, date: str, hour: int | None) -> PartitionRef:
    from datetime import date as Date

    return PartitionRef(root, cfg.env, cfg.workspace, dataset, Date.fromisoformat(date), hour)


def partition_key(date: str, hour: int | None = None) -> str:
    """``dt=<date>``, or ``dt=<date>/hr=HH`` for an hourly partition (which sits inside its day)."""
    return f"dt={date}" if hour is None else f"dt={date}/hr={hour:02d}"


def partition_objects(store: ObjectStore, prefix: str) -> list[str]:
    """The objects of the partition at ``prefix`` itself: a day's listing also holds its hourly partitions'
    objects (``hr=HH/...``), which the writer's own rule (``belongs_to``) leaves out, and so do we."""
    from airflow_provider_cio.landing.writer import belongs_to

    ref = PartitionRef.parse(prefix)
    return [name for name in store.list(prefix + "/") if belongs_to(name, ref)]


def landed(store: ObjectStore, cfg: CioDagConfig, date: str, hour: int | None = None) -> list[Partition]:
    """Every configured export dataset's partition for ``date`` (daily), or for that ``hour`` of it."""
    partitions = []
    for dataset in cfg.datasets:
        ref = _ref(LANDING_ROOT, cfg, dataset, date, hour)
        partitions.append(
            Partition(
                dataset=dataset,
                prefix=ref.prefix,
                manifest=read_json(store, ref.manifest_path),
                verdict=read_json(store, ref.quality_result_path),
            )
        )
    return partitions


def audiences(
    store: ObjectStore, cfg: CioDagConfig, date: str, hour: int | None = None
) -> list[AudienceState]:
    """Every configured audience's snapshot for ``date`` (or that ``hour`` of it) and the ledger state of each of its
    destinations (one ledger per platform audience, whichever DAG synced it last)."""
    from airflow_provider_cio.sync.runner import ledger_prefix

    found = []
    for audience in cfg.audiences:
        ref = _ref(AUDIENCES_ROOT, cfg, audience.name, date, hour)
        prefix = ref.prefix
        syncs = []
        for platform in audience.destinations:
            # the ledger is keyed by the audience's name on the platform, as the sync task keys it
            ledger = ledger_prefix(
                ledger_root(cfg.env, cfg.workspace), platform, cfg.platform_audience_name(audience, platform)
            )
            state = read_json(store, ledger_state_pointer(ledger))
            done = read_json(store, ledger_run_done(ledger, str(state.get("run_id")))) if state else {}
            syncs.append(SyncState(platform=platform, ledger=ledger, state=state, done=done))
        found.append(
            AudienceState(
                name=audience.name,
                prefix=prefix,
                stats=read_json(store, ref.stats_path),
                verdict=read_json(store, ref.quality_result_path),
                syncs=tuple(syncs),
            )
        )
    return found


def latest_lift(store: ObjectStore, cfg: CioDagConfig) -> dict[str, Any]:
    """The newest holdout lift report of the configured program: where it is and its headline numbers (``{}`` when
    there is none yet)."""
    from airflow_provider_cio.audiences.incrementality_report import program_prefix

    program = cfg.holdout.program if cfg.holdout else "paid_retention"
    summaries = [
        name
        for name in store.list(f"{program_prefix(cfg.env, cfg.workspace, program)}/")
        if name.endswith("/summary.json")
    ]
    if not summaries:
        return {}
    latest = summaries[-1]
    raw = read_json(store, latest)
    return {
        "prefix": latest.rsplit("/", 1)[0],
        "url": store.url(latest.replace("summary.json", "report.html")),
        "conversion_lift": raw["conversion_lift"]["estimate"],
        "p_value": raw["conversion_p_value"],
        "treatment": raw["treatment"]["users"],
        "holdout": raw["holdout"]["users"],
    }
