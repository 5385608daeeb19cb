"""Where everything lives in Blob: the one module that spells a path.

A partition is ``{root}/{env}/{workspace}/{dataset}/dt=YYYY-MM-DD[/hr=HH]`` (``root``: ``landing`` for Customer.io
data and the sync history, ``audiences`` for snapshots); its commit point is ``_manifest.json``, its gate verdict
``_quality/result.json``. Sync ledgers live under ``ledger/{env}/{workspace}/{platform}/{audience key}``: the synced
state's pointer ``state.json`` and one folder per run, ``runs/{run_id}/`` (``done.json`` once it finished).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

_PREFIX = re.compile(
    r"^(?P<root>.+)/(?P<env>[^/]+)/(?P<workspace>[^/]+)/(?P<dataset>[^/]+)/dt=(?P<dt>\d{4}-\d{2}-\d{2})"
    r"(?:/hr=(?P<hr>\d{2}))?/?$"
)
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

LANDING_ROOT = "landing"
AUDIENCES_ROOT = "audiences"
LEDGER_ROOT = "ledger"
SYNC_HISTORY_DATASET = "sync_history"  # under LANDING_ROOT, one partition per day
MANIFEST_NAME = "_manifest.json"  # written last: a partition without it was never committed
QUALITY_DIR = "_quality"
QUALITY_RESULT_NAME = "result.json"
QUALITY_REPORT_NAME = "report.html"
SNAPSHOT_STATS_NAME = "_stats.json"  # an audience snapshot's sizes and counts (audiences.snapshot)
LEDGER_STATE_NAME = "state.json"
LEDGER_DONE_NAME = "done.json"


def ledger_root(env: str, workspace: str) -> str:
    """Where one deployment's sync ledgers live (one per platform audience below it)."""
    return f"{LEDGER_ROOT}/{env}/{workspace}"


def audience_ledger(root: str, platform: str, audience_key: str) -> str:
    """One platform audience's ledger under a ledger ``root``: its synced state and one folder per run."""
    return f"{root.rstrip('/')}/{platform}/{audience_key}"


def ledger_state_pointer(ledger: str) -> str:
    """The synced state's pointer (``sync.state``): which members table is live, and the run that wrote it."""
    return f"{ledger}/{LEDGER_STATE_NAME}"


def ledger_state_dir(ledger: str) -> str:
    """Where the synced members tables live (the pointer names the current one)."""
    return f"{ledger}/{LEDGER_STATE_NAME.removesuffix('.json')}"


def ledger_run(ledger: str, run_id: str) -> str:
    """One run's folder (``sync.ledger``: plan, sessions, batches, and ``done.json`` once it finished)."""
    return f"{ledger}/runs/{run_id}"


def ledger_run_done(ledger: str, run_id: str) -> str:
    """A finished run's report: written last, so a run without it did not finish."""
    return f"{ledger_run(ledger, run_id)}/{LEDGER_DONE_NAME}"


@dataclass(frozen=True)
class PartitionRef:
    """One landing partition. Hourly partitions (``hr``) sit inside their day."""

    root: str
    env: str
    workspace: str
    dataset: str
    dt: date
    hr: int | None = None

    def __post_init__(self) -> None:
        for name in ("env", "workspace", "dataset"):
            value = getattr(self, name)
            if not _SEGMENT.match(value):
                raise ValueError(f"invalid {name} {value!r}: use letters, digits, '_', '-', '.'")
        if not self.root or self.root.startswith("/") or self.root.endswith("/"):
            raise ValueError(f"invalid root {self.root!r}: a relative path without leading/trailing '/'")
        if self.hr is not None and not 0 <= self.hr <= 23:
            raise ValueError(f"invalid hour {self.hr}: 0-23")

    @property
    def dataset_prefix(self) -> str:
        return f"{self.root}/{self.env}/{self.workspace}/{self.dataset}"

    @property
    def prefix(self) -> str:
        hour = f"/hr={self.hr:02d}" if self.hr is not None else ""
        return f"{self.dataset_prefix}/dt={self.dt.isoformat()}{hour}"

    @property
    def manifest_path(self) -> str:
        return f"{self.prefix}/{MANIFEST_NAME}"

    @property
    def quality_prefix(self) -> str:
        return f"{self.prefix}/{QUALITY_DIR}"

    @property
    def quality_result_path(self) -> str:
        return f"{self.quality_prefix}/{QUALITY_RESULT_NAME}"

    @property
    def quality_report_path(self) -> str:
        return f"{self.quality_prefix}/{QUALITY_REPORT_NAME}"

    @property
    def stats_path(self) -> str:
        """An audience snapshot's stats (partitions under ``AUDIENCES_ROOT``)."""
        return f"{self.prefix}/{SNAPSHOT_STATS_NAME}"

    @property
    def rejected_prefix(self) -> str:
        return f"{self.prefix}/_rejected"

    @property
    def label(self) -> str:
        """Short human label for messages: ``deliveries dt=2026-11-01``."""
        return f"{self.dataset} {self.prefix.rsplit('/' + self.dataset + '/', 1)[-1]}"

    @classmethod
    def parse(cls, prefix: str) -> PartitionRef:
        match = _PREFIX.match(prefix.removesuffix(f"/{MANIFEST_NAME}"))
        if not match:
            raise ValueError(f"not a landing partition path: {prefix!r}")
        hr = match["hr"]
        return cls(
            root=match["root"],
            env=match["env"],
            workspace=match["workspace"],
            dataset=match["dataset"],
            dt=date.fromisoformat(match["dt"]),
            hr=int(hr) if hr is not None else None,
        )

    @classmethod
    def for_interval(
        cls, *, root: str, env: str, workspace: str, dataset: str, start: datetime, hourly: bool = False
    ) -> PartitionRef:
        """The partition a data interval writes: keyed by the interval's start (Airflow's partition key)."""
        return cls(root, env, workspace, dataset, start.date(), start.hour if hourly else None)
