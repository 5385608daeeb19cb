"""The report buttons: which tasks carry which, what their stored link holds (a route, never a SAS), and the
pointer a task publishes (only known kinds; read back safely whatever XCom holds)."""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.links.operator_links import route_url
from airflow_provider_cio.links.pointers import GATE_REPORT, REPORT_KINDS, TREND_REPORT, pointer, report_path


def _serialized_links(task: Any) -> dict[str, str]:
    from airflow.serialization.serialized_objects import OperatorSerialization

    return dict(OperatorSerialization.serialize_operator(task).get("_operator_extra_links") or {})


def test_each_operator_carries_the_buttons_of_the_reports_it_writes() -> None:
    from airflow.sdk import DAG

    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator
    from airflow_provider_cio.operators.incrementality import CioIncrementalityOperator
    from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator

    with DAG("links_test", schedule=None, start_date=datetime(2026, 11, 1)):
        landing = CioQualityGateOperator(task_id="gate_deliveries", dataset="deliveries", workspace="w")
        snapshot = CioQualityGateOperator(
            task_id="gate_a", dataset="a", root="audiences", contract="audience_snapshot", workspace="w"
        )
        sync = CioAudienceSyncOperator(
            task_id="sync_meta_a", audience="a", platform="meta", conn_id="m", workspace="w"
        )
        lift = CioIncrementalityOperator(task_id="lift", program="p", audiences=["a"], workspace="w")
    assert list(_serialized_links(landing)) == ["Gate report"]
    assert sorted(_serialized_links(snapshot)) == ["Audience stats", "Gate report"]
    assert list(_serialized_links(sync)) == ["Match-rate trend"]
    assert list(_serialized_links(lift)) == ["Lift report"]


run_ids = st.one_of(
    st.builds(lambda d: f"manual__{d.isoformat()}+00:00", st.datetimes()),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
)


@given(run_id=run_ids, kind=st.sampled_from(REPORT_KINDS), map_index=st.integers(-1, 50))
def test_route_url_round_trips_any_run_id_and_holds_no_signature(
    run_id: str, kind: str, map_index: int
) -> None:
    url = route_url("http://127.0.0.1:8080/", "cio_export", run_id, "gate_deliveries", map_index, kind)
    parsed = urllib.parse.urlsplit(url)
    assert parsed.netloc == "127.0.0.1:8080"
    parts = [urllib.parse.unquote(p) for p in parsed.path.split("/")]
    assert parts[:3] == ["", "cio", "reports"]
    assert parts[3:] == ["cio_export", run_id, "gate_deliveries", kind]
    assert urllib.parse.parse_qs(parsed.query) == {"map_index": [str(map_index)]}
    assert "sig=" not in parsed.query


def test_pointer_refuses_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown report kind"):
        pointer("cio_blob", "customerio", {"Raw landing file": "landing/x.parquet"})


def test_report_path_reads_only_what_the_task_published() -> None:
    published = pointer("cio_blob", "customerio", {GATE_REPORT: "landing/a/_quality/report.html"})
    assert report_path(published, GATE_REPORT) == ("cio_blob", "customerio", "landing/a/_quality/report.html")
    assert report_path(published, TREND_REPORT) is None


@given(st.recursive(st.none() | st.text() | st.integers(), lambda inner: st.dictionaries(st.text(), inner)))
def test_report_path_never_fails_on_whatever_xcom_holds(value: Any) -> None:
    found = report_path(value, GATE_REPORT)
    assert found is None or all(isinstance(part, str) for part in found)


class _Ti:
    """What ``push_reports`` needs of a task instance: its XCom push (kept, to compare)."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def test_a_button_links_only_once_its_task_published_that_report(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from airflow_provider_cio.links.operator_links import AudienceStatsLink, GateReportLink
    from airflow_provider_cio.links.pointers import XCOM_KEY, push_reports
    from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://ui.example.test:8080")
    task = CioQualityGateOperator(task_id="gate_deliveries", dataset="deliveries", workspace="w")
    key = SimpleNamespace(
        dag_id="cio_export", run_id="manual__2026-11-02", task_id="gate_deliveries", map_index=-1
    )
    assert GateReportLink().get_link(task, ti_key=key) == ""  # failed before writing it: a disabled button
    ti = _Ti()
    context: Any = {"ti": ti, "task": task}  # the two fields of a Context that push_reports reads
    push_reports(context, "cio_blob", "customerio", {GATE_REPORT: "landing/x/_quality/report.html"})
    assert GateReportLink().get_link(task, ti_key=key) == (
        "http://ui.example.test:8080/cio/reports/cio_export/manual__2026-11-02/gate_deliveries/Gate%20report"
        "?map_index=-1"
    )
    assert AudienceStatsLink().get_link(task, ti_key=key) == ""
    assert report_path(ti.pushed[XCOM_KEY], GATE_REPORT) == (
        "cio_blob",
        "customerio",
        "landing/x/_quality/report.html",
    )
