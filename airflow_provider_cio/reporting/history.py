"""Match-rate and reach history: one row per sync (run x audience x destination), kept as a Parquet dataset in Blob.

A single run's ``SyncReport`` holds the platform's figures (Data Manager match-rate ranges and request statuses,
Google Ads list sizes, Meta's approximate counts and session matches) and then they are gone; drift only shows
across runs. Each row is its own Parquet file under the landing layout
(``{root}/{env}/{workspace}/sync_history/dt=YYYY-MM-DD/``), named by audience, platform and sync run id, so a retry
overwrites its row instead of adding one and a warehouse reads ``dt=*/*.parquet`` with Hive partitioning.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime
from typing import Any

from airflow_provider_cio.landing.layout import LANDING_ROOT, SYNC_HISTORY_DATASET, PartitionRef
from airflow_provider_cio.storage.base import ObjectStore

DATASET = SYNC_HISTORY_DATASET
DEFAULT_ROOT = LANDING_ROOT
# "MATCH_RATE_RANGE_41_TO_50" (Data Manager), "MATCH_RANGE_41_TO_50" (Google Ads jobs), "41_TO_50"
_RANGE = re.compile(r"(?:^|_)(\d{1,3})_TO_(\d{1,3})$")
_LESS_THAN = re.compile(r"(?:^|_)LESS_THAN_(\d{1,3})$")


@dataclass
class HistoryRow:
    """What one sync planned, sent and got back, with the platform's own figures (None where it gave none)."""

    recorded_at: datetime
    dt: date  # the period the run covers (the snapshot's day)
    env: str
    workspace: str
    audience: str
    platform: str  # meta | google
    backend: str  # meta | data_manager | google_ads
    destination: str  # the platform audience name
    audience_id: str | None
    sync_run_id: str
    dag_run_id: str | None
    status: str
    mode: str
    snapshot_size: int | None
    rows_planned: int
    adds: int
    removes: int
    rows_sent: int
    rows_accepted: int
    rows_rejected: int
    rejected_by_reason: str  # JSON {reason: rows}
    match_rate_low: float | None  # percent, the platform's range or Meta's matched/received
    match_rate_high: float | None
    match_rate_source: str | None
    request_statuses: str  # JSON {SUCCESS: n, ...} (Data Manager)
    size_for_display: int | None  # Google Ads
    size_for_search: int | None
    meta_count_lower: int | None  # Meta's approximate count (rounded, up to 24 h late)
    meta_count_upper: int | None
    reach: int | None  # the platform's size estimate: Google Ads size_for_display, Meta's lower bound
    platform_stats: str  # JSON, as the report carried it
    sessions: str  # JSON
    # the estimate read before this sync sent anything: the previous sync's reach once it settled (both platforms
    # count hours late, so ``reach`` read right after a sync describes the audience before it); None in older rows
    reach_before: int | None = None

    @property
    def match_rate(self) -> float | None:
        """The middle of the reported range (one number to chart and compare)."""
        if self.match_rate_low is None or self.match_rate_high is None:
            return None
        return (self.match_rate_low + self.match_rate_high) / 2


def match_rate_range(name: str | None) -> tuple[float, float] | None:
    """``"MATCH_RATE_RANGE_41_TO_50"`` -> (41, 50); ``LESS_THAN_20`` -> (0, 20); unknown/not eligible -> None."""
    if not name:
        return None
    found = _RANGE.search(name)
    low, high = (float(found[1]), float(found[2])) if found else (0.0, -1.0)
    found = None if found else _LESS_THAN.search(name)
    if found:
        low, high = 0.0, float(found[1])
    return (low, high) if 0 <= low <= high <= 100 else None


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError, OverflowError):  # None, text, NaN, infinity
        return None


def _count(value: Any) -> int:
    """A count from a report: a missing, malformed or negative value counts as 0."""
    return max(_int(value) or 0, 0)


def _match_rate(report: dict[str, Any]) -> tuple[float | None, float | None, str | None]:
    """Data Manager: the ranges its requests reported; Google Ads: each job's range, else the list's
    ``match_rate_percentage``; Meta: matched / received of its upload sessions. Low and high in percent."""
    ranges: list[tuple[float, float]] = []
    sessions = report.get("sessions") or {}
    for closed in sessions.values():
        if not isinstance(closed, dict):
            continue
        for name, count in (closed.get("upload_match_rate_ranges") or {}).items():
            parsed = match_rate_range(name)
            if parsed and int(count) > 0:
                ranges.append(parsed)
        parsed = match_rate_range(closed.get("match_rate_range"))
        if parsed:
            ranges.append(parsed)
    if ranges:  # one range per request or job: their mean bounds
        low = sum(r[0] for r in ranges) / len(ranges)
        high = sum(r[1] for r in ranges) / len(ranges)
        return low, high, "platform_range"
    matched = sum(_count(s.get("num_matched")) for s in sessions.values() if isinstance(s, dict))
    received = sum(_count(s.get("num_received")) for s in sessions.values() if isinstance(s, dict))
    if received > 0 and any(isinstance(s, dict) and "num_matched" in s for s in sessions.values()):
        rate = min(round(100.0 * matched / received, 2), 100.0)
        return rate, rate, "meta_sessions"
    percentage = _int((report.get("platform_stats") or {}).get("match_rate_percentage"))
    stats = report.get("platform_stats") or {}
    if (
        percentage is not None
        and 0 <= percentage <= 100
        and stats.get("backend") != "data_manager"
        and report.get("status") == "synced"
    ):
        return float(percentage), float(percentage), "user_list"
    return None, None, None


def _backend(report: dict[str, Any]) -> str:
    if report.get("platform") == "meta":
        return "meta"
    stats = report.get("platform_stats") or {}
    if stats.get("backend") == "data_manager" or any(
        isinstance(s, dict) and "upload_match_rate_ranges" in s
        for s in (report.get("sessions") or {}).values()
    ):
        return "data_manager"
    return "google_ads"


def row_from_report(
    report: dict[str, Any],
    *,
    env: str,
    workspace: str,
    audience: str,
    covered: date,
    dag_run_id: str | None = None,
    recorded_at: datetime | None = None,
) -> HistoryRow:
    """One history row from ``SyncReport.to_dict()`` (PII-free already: counts, ids, ranges)."""
    plan = report.get("plan") or {}
    stats = report.get("platform_stats") or {}
    sessions = report.get("sessions") or {}
    adds, removes = _count(plan.get("adds")), _count(plan.get("removes"))
    # the run's unapplied reasons are the failed requests' error counts again: per reason, the larger of the two
    errors: dict[str, int] = {}
    for closed in sessions.values():
        for reason, count in ((closed.get("error_counts") or {}) if isinstance(closed, dict) else {}).items():
            errors[str(reason)] = errors.get(str(reason), 0) + _count(count)
    reasons = dict(errors)
    for reason, count in (report.get("unapplied_reasons") or {}).items():
        reasons[str(reason)] = max(reasons.get(str(reason), 0), _count(count))
    invalid = _count(report.get("invalid"))
    if invalid and not reasons:
        reasons["invalid_entries"] = invalid
    unapplied = _count(report.get("members_unapplied"))
    rejected = max(invalid + unapplied, sum(reasons.values()) if reasons else 0)
    sent = _count(report.get("rows_sent"))
    statuses: dict[str, int] = {}
    for closed in sessions.values():
        if isinstance(closed, dict):
            for status, count in (closed.get("statuses") or {}).items():
                statuses[str(status)] = statuses.get(str(status), 0) + _count(count)
    low, high, source = _match_rate(report)
    meta_low = _int(stats.get("approximate_count_lower_bound"))
    meta_high = _int(stats.get("approximate_count_upper_bound"))
    if meta_low is not None and meta_low < 0:  # -1: not disclosed (audience too small)
        meta_low = meta_high = None
    display = _int(stats.get("size_for_display"))
    backend = _backend(report)
    reach = _reach(stats, backend)
    return HistoryRow(
        recorded_at=(recorded_at or datetime.now(UTC)).astimezone(UTC),
        dt=covered,
        env=env,
        workspace=workspace,
        audience=audience,
        platform=str(report.get("platform", "?")),
        backend=backend,
        destination=str(report.get("audience_name", "")),
        audience_id=report.get("audience_id"),
        sync_run_id=str(report.get("run_id", "")),
        dag_run_id=dag_run_id,
        status=str(report.get("status", "?")),
        mode=str(report.get("mode", "")),
        snapshot_size=_int(plan.get("snapshot_size")),
        rows_planned=adds + removes + _count(plan.get("replace_rows")),
        adds=adds,
        removes=removes,
        rows_sent=sent,
        rows_accepted=max(sent - rejected, 0),
        rows_rejected=rejected,
        rejected_by_reason=json.dumps(reasons, sort_keys=True),
        match_rate_low=low,
        match_rate_high=high,
        match_rate_source=source,
        request_statuses=json.dumps(statuses, sort_keys=True),
        size_for_display=display,
        size_for_search=_int(stats.get("size_for_search")),
        meta_count_lower=meta_low,
        meta_count_upper=meta_high,
        reach=reach,
        platform_stats=json.dumps(stats, sort_keys=True, default=str),
        sessions=json.dumps(sessions, sort_keys=True, default=str),
        reach_before=_reach(report.get("platform_stats_before") or {}, backend),
    )


def _reach(stats: dict[str, Any], backend: str) -> int | None:
    """The platform's size estimate in ``stats``: Google Ads ``size_for_display``, Meta's lower bound.

    Meta counts a new or just-changed audience late (0 until it has processed the upload): 0 is "not yet", not a
    collapse, so it is left out of reach (and of the drift baseline); -1 (too small to disclose) likewise."""
    if backend == "google_ads":
        return _int(stats.get("size_for_display"))
    if backend == "meta":
        lower = _int(stats.get("approximate_count_lower_bound"))
        return lower if lower is not None and lower > 0 else None
    return None


def settled(rows: Sequence[HistoryRow]) -> list[HistoryRow]:
    """``rows`` (oldest first) with each sync's reach replaced by the figure the next sync of the same audience on
    the same platform read before sending, where it has one: the platform's count once it caught up with that
    sync. The latest row keeps the figure read right after it (it may still lag); a later run fills it in."""
    out = list(rows)
    following: dict[tuple[str, str], int] = {}  # (audience, platform) -> index of the next row, walking back
    for index in range(len(out) - 1, -1, -1):
        key = (out[index].audience, out[index].platform)
        later = following.get(key)
        if later is not None and out[later].reach_before is not None:
            out[index] = replace(out[index], reach=out[later].reach_before)
        following[key] = index
    return out


def _schema() -> Any:
    import pyarrow as pa

    types = {
        "recorded_at": pa.timestamp("us", tz="UTC"),
        "dt": pa.date32(),
        "match_rate_low": pa.float64(),
        "match_rate_high": pa.float64(),
    }
    ints = {
        "snapshot_size",
        "rows_planned",
        "adds",
        "removes",
        "rows_sent",
        "rows_accepted",
        "rows_rejected",
        "size_for_display",
        "size_for_search",
        "meta_count_lower",
        "meta_count_upper",
        "reach",
        "reach_before",
    }
    return pa.schema(
        [
            (f.name, types.get(f.name, pa.int64() if f.name in ints else pa.string()))
            for f in fields(HistoryRow)
        ]
    )


class SyncHistory:
    """The dataset in one container: ``append`` one row per sync, ``rows`` to read an audience's history back."""

    def __init__(self, store: ObjectStore, *, env: str, workspace: str, root: str = DEFAULT_ROOT) -> None:
        self.store = store
        self.env = env
        self.workspace = workspace
        self.root = root

    def partition(self, day: date) -> PartitionRef:
        return PartitionRef(root=self.root, env=self.env, workspace=self.workspace, dataset=DATASET, dt=day)

    def path_for(self, row: HistoryRow) -> str:
        key = hashlib.sha256(f"{row.audience}|{row.platform}|{row.sync_run_id}".encode()).hexdigest()[:16]
        return f"{self.partition(row.dt).prefix}/part-{row.audience}-{row.platform}-{key}.parquet"

    def append(self, row: HistoryRow) -> str:
        """Write the row's file (a retry of the same sync run rewrites the same file); its path."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([asdict(row)], schema=_schema())
        out = io.BytesIO()
        pq.write_table(table, out, compression="zstd")
        path = self.path_for(row)
        self.store.write_bytes(path, out.getvalue())
        return path

    def rows(self, *, audience: str | None = None, platform: str | None = None) -> list[HistoryRow]:
        """Every row (oldest first by covered day, then by time recorded), optionally of one audience/platform."""
        found = [
            row
            for row in self._read(f"part-{audience}-" if audience else "part-")
            if (audience is None or row.audience == audience)
            and (platform is None or row.platform == platform)
        ]
        return sorted(found, key=lambda r: (r.dt, r.recorded_at))

    def _read(self, name_prefix: str) -> Iterator[HistoryRow]:
        """Rows of the files whose name starts with ``name_prefix`` (an audience's files are named after it)."""
        import pyarrow.parquet as pq

        prefix = f"{self.partition(date(2000, 1, 1)).dataset_prefix}/"
        for path in self.store.list(prefix):
            name = path.rsplit("/", 1)[-1]
            if "/dt=" not in path or not (name.startswith(name_prefix) and name.endswith(".parquet")):
                continue
            table = pq.read_table(io.BytesIO(self.store.read_bytes(path)))
            for record in table.to_pylist():
                yield HistoryRow(**{f.name: record.get(f.name) for f in fields(HistoryRow)})
