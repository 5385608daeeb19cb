"""The match-rate and reach history: rows from sync reports, the Blob dataset, drift alerts, the trend report."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.reporting.alerts import DriftThresholds, drift_alerts
from airflow_provider_cio.reporting.history import DATASET, SyncHistory, match_rate_range, row_from_report
from airflow_provider_cio.reporting.record import record_sync, trend_paths
from airflow_provider_cio.storage import MemoryObjectStore

T0 = datetime(2026, 11, 2, 6, tzinfo=UTC)


def dm_report(run: str, *, rate: str = "MATCH_RATE_RANGE_71_TO_80", adds: int = 100) -> dict[str, Any]:
    """The shape ``run_sync`` gives for the Data Manager destination (sessions from ``close_session``)."""
    return {
        "status": "synced",
        "platform": "google",
        "audience_name": "cio/dev/demo/vip",
        "mode": "mirror",
        "run_id": run,
        "audience_id": "42",
        "plan": {"adds": adds, "removes": 3, "replace_rows": 0, "snapshot_size": 1000},
        "rows_sent": adds + 3,
        "invalid": 0,
        "members_unapplied": 2,
        "unapplied_reasons": {"INVALID_SHA256_FORMAT": 2},
        "sessions": {
            "add": {
                "requests": 2,
                "statuses": {"SUCCESS": 1, "PARTIAL_SUCCESS": 1},
                "error_counts": {},
                "upload_match_rate_ranges": {rate: 2},
            },
            "remove": {"requests": 1, "statuses": {"SUCCESS": 1}, "upload_match_rate_ranges": {}},
        },
        "platform_stats": {"backend": "data_manager", "size_for_display": None, "user_list_id": "42"},
    }


def meta_report(run: str, *, lower: int, matched: int = 80) -> dict[str, Any]:
    return {
        "status": "synced",
        "platform": "meta",
        "audience_name": "cio/dev/demo/vip",
        "mode": "mirror",
        "run_id": run,
        "plan": {"adds": 100, "removes": 0, "snapshot_size": 5000},
        "rows_sent": 100,
        "invalid": 4,
        "sessions": {"add": {"session_id": "1", "num_received": 100, "num_matched": matched}},
        "platform_stats": {
            "approximate_count_lower_bound": lower,
            "approximate_count_upper_bound": lower + 500,
        },
    }


def test_match_rate_ranges_of_both_google_apis() -> None:
    assert match_rate_range("MATCH_RATE_RANGE_41_TO_50") == (41, 50)
    assert match_rate_range("MATCH_RANGE_91_TO_100") == (91, 100)
    assert match_rate_range("MATCH_RATE_RANGE_LESS_THAN_20") == (0, 20)
    assert match_rate_range("MATCH_RATE_RANGE_NOT_ELIGIBLE") is None
    assert match_rate_range("MATCH_RANGE_UNKNOWN") is None
    assert match_rate_range("MATCH_RANGE_90_TO_20") is None
    assert match_rate_range(None) is None


@given(st.text())
def test_any_range_name_reads_as_a_percentage_span_or_nothing(name: str) -> None:
    parsed = match_rate_range(name)
    assert parsed is None or 0 <= parsed[0] <= parsed[1] <= 100


def test_data_manager_row_carries_the_figures() -> None:
    row = row_from_report(
        dm_report("r1"), env="dev", workspace="demo", audience="vip", covered=date(2026, 11, 1)
    )
    assert (row.backend, row.rows_planned, row.rows_sent) == ("data_manager", 103, 103)
    assert (row.rows_rejected, row.rows_accepted) == (2, 101)
    assert json.loads(row.rejected_by_reason) == {"INVALID_SHA256_FORMAT": 2}
    assert json.loads(row.request_statuses) == {"SUCCESS": 2, "PARTIAL_SUCCESS": 1}
    assert (row.match_rate_low, row.match_rate_high, row.match_rate) == (71, 80, 75.5)
    assert row.reach is None  # Data Manager reports no list size


def test_meta_row_reads_sessions_and_approximate_counts() -> None:
    row = row_from_report(
        meta_report("m1", lower=4000), env="dev", workspace="demo", audience="vip", covered=date(2026, 11, 1)
    )
    assert (row.backend, row.match_rate, row.match_rate_source) == ("meta", 80.0, "meta_sessions")
    assert (row.meta_count_lower, row.meta_count_upper, row.reach) == (4000, 4500, 4000)
    assert json.loads(row.rejected_by_reason) == {"invalid_entries": 4}
    hidden = row_from_report(
        meta_report("m2", lower=-1), env="dev", workspace="demo", audience="vip", covered=date(2026, 11, 1)
    )
    assert hidden.reach is None and hidden.meta_count_lower is None  # -1: Meta does not disclose
    fresh = row_from_report(
        meta_report("m3", lower=0), env="dev", workspace="demo", audience="vip", covered=date(2026, 11, 1)
    )
    assert fresh.meta_count_lower == 0 and fresh.reach is None  # not counted yet


def test_google_ads_row_reads_the_job_range_and_list_size() -> None:
    report = {
        "status": "synced",
        "platform": "google",
        "run_id": "g1",
        "plan": {"adds": 10},
        "rows_sent": 10,
        "sessions": {"add": {"status": "SUCCESS", "match_rate_range": "MATCH_RANGE_51_TO_60"}},
        "platform_stats": {"size_for_display": 12000, "size_for_search": 9000, "match_rate_percentage": 55},
    }
    row = row_from_report(report, env="dev", workspace="demo", audience="vip", covered=date(2026, 11, 1))
    assert (row.backend, row.match_rate_low, row.match_rate_high, row.reach) == ("google_ads", 51, 60, 12000)


scalars = st.one_of(st.none(), st.integers(-5, 10**9), st.text(max_size=8), st.floats(allow_nan=True))
report_values = st.recursive(
    scalars, lambda inner: st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12
)
report_keys = st.sampled_from(
    [
        "status",
        "platform",
        "plan",
        "rows_sent",
        "invalid",
        "members_unapplied",
        "unapplied_reasons",
        "sessions",
        "platform_stats",
        "run_id",
    ]
)


@given(st.dictionaries(report_keys, report_values))
def test_a_report_of_any_shape_gives_a_row_with_sane_counts(report: dict[str, Any]) -> None:
    try:
        row = row_from_report(report, env="dev", workspace="demo", audience="vip", covered=date(2026, 11, 1))
    except (AttributeError, TypeError, ValueError) as exc:  # a malformed report may be refused, loudly
        assert str(exc) or type(exc)
        return
    assert row.rows_accepted >= 0 and row.rows_rejected >= 0 and row.rows_accepted <= max(row.rows_sent, 0)
    assert row.match_rate is None or 0 <= row.match_rate <= 100


def test_history_is_one_file_per_sync_under_the_landing_layout() -> None:
    store = MemoryObjectStore()
    history = SyncHistory(store, env="dev", workspace="demo")
    first = row_from_report(
        dm_report("r1"),
        env="dev",
        workspace="demo",
        audience="vip",
        covered=date(2026, 11, 1),
        recorded_at=T0,
    )
    path = history.append(first)
    ref = PartitionRef.parse(path.rsplit("/", 1)[0])
    assert (ref.root, ref.env, ref.workspace, ref.dataset, ref.dt) == (
        "landing",
        "dev",
        "demo",
        DATASET,
        date(2026, 11, 1),
    )
    table = pq.read_table(io.BytesIO(store.read_bytes(path)))
    assert table.num_rows == 1 and table.column("rows_sent").to_pylist() == [103]
    # a retry of the same sync run rewrites its row; another run adds one
    again = row_from_report(
        dm_report("r1", adds=50),
        env="dev",
        workspace="demo",
        audience="vip",
        covered=date(2026, 11, 1),
        recorded_at=T0 + timedelta(minutes=5),
    )
    assert history.append(again) == path
    history.append(
        row_from_report(
            dm_report("r2"),
            env="dev",
            workspace="demo",
            audience="vip",
            covered=date(2026, 11, 2),
            recorded_at=T0 + timedelta(days=1),
        )
    )
    rows = history.rows(audience="vip")
    assert [(r.sync_run_id, r.rows_sent) for r in rows] == [("r1", 53), ("r2", 103)]
    assert history.rows(audience="other") == []


def _judge(rates: list[str], thresholds: DriftThresholds | None = None) -> list[Any]:
    rows = [
        row_from_report(
            dm_report(f"r{i}", rate=rate),
            env="dev",
            workspace="demo",
            audience="vip",
            covered=date(2026, 11, 1) + timedelta(days=i),
        )
        for i, rate in enumerate(rates)
    ]
    return drift_alerts(rows, thresholds)


def test_match_rate_drift_alerts_past_the_threshold_only() -> None:
    steady = ["MATCH_RATE_RANGE_71_TO_80"] * 3
    assert (
        _judge(steady + ["MATCH_RATE_RANGE_61_TO_70"]) == []
    )  # 10 points down: at the threshold, not past it
    (alert,) = _judge(steady + ["MATCH_RATE_RANGE_51_TO_60"])
    assert (alert.kind, alert.current, alert.baseline, alert.runs) == ("match_rate", 55.5, 75.5, 3)
    assert "55.5%" in alert.message() and "75.5%" in alert.message()
    assert _judge(["MATCH_RATE_RANGE_51_TO_60"]) == []  # nothing to compare with
    assert _judge(steady + ["MATCH_RATE_RANGE_51_TO_60"], DriftThresholds(match_rate_drop_points=25)) == []


def test_reach_drift_uses_the_platform_size() -> None:
    rows = [
        row_from_report(
            meta_report(f"m{i}", lower=lower),
            env="dev",
            workspace="demo",
            audience="vip",
            covered=date(2026, 11, 1) + timedelta(days=i),
        )
        for i, lower in enumerate([10000, 10200, 9900, 7000])
    ]
    (alert,) = drift_alerts(rows)
    assert (alert.kind, alert.current, alert.baseline) == ("reach", 7000, 10000)
    assert "reach (platform size estimate) 7,000, median of the 3 sync(s) before 10,000" in alert.message()
    assert drift_alerts(rows[:3]) == []


def test_record_sync_writes_row_trend_and_alerts() -> None:
    store = MemoryObjectStore()
    for i, rate in enumerate(["MATCH_RATE_RANGE_71_TO_80"] * 2 + ["MATCH_RATE_RANGE_31_TO_40"]):
        recorded = record_sync(
            store,
            dm_report(f"r{i}", rate=rate),
            env="dev",
            workspace="demo",
            audience="vip",
            covered=date(2026, 11, 1) + timedelta(days=i),
            recorded_at=T0 + timedelta(days=i),
        )
    assert len(recorded.alerts) == 1 and "35.5%" in recorded.alerts[0]
    html_path, png_path = trend_paths(SyncHistory(store, env="dev", workspace="demo"), "vip")
    assert store.read_bytes(png_path).startswith(b"\x89PNG")
    page = store.read_bytes(html_path).decode()
    assert "data:image/png;base64," in page and "35.5%" in page and "<script" not in page
    # a dry run or an already synced snapshot adds nothing
    assert (
        record_sync(
            store,
            {**dm_report("r9"), "status": "dry_run", "rows_sent": 0},
            env="dev",
            workspace="demo",
            audience="vip",
            covered=date(2026, 11, 9),
        ).row
        is None
    )
    assert len(SyncHistory(store, env="dev", workspace="demo").rows()) == 3
