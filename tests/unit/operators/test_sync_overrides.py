"""The sync operator's run overrides: the audience subset skips, each override used is logged with its user, and the
sync logs one summary line."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.operators._run_overrides import flag, subset, triggered_by
from airflow_provider_cio.operators._sync_summary import summary_line


def _operator(**kwargs: Any) -> Any:
    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator

    return CioAudienceSyncOperator(
        task_id="sync_meta_high_value",
        audience="high_value",
        platform="meta",
        conn_id="meta_default",
        workspace="ws",
        **kwargs,
    )


def _context(user: str | None = "alice", conf: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"dag_run": SimpleNamespace(triggering_user_name=user, conf=conf or {})}


# the operator logs through Airflow's structlog set-up, which writes the task log to stdout here


def test_an_audience_outside_the_subset_is_skipped_and_says_who_chose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    op = _operator(only_audiences="cart_abandoners,lapsed")
    with pytest.raises(AirflowSkipException):
        op._apply_run_overrides(_context("alice"))
    text = capsys.readouterr().out
    assert "skipped" in text and "cart_abandoners, lapsed" in text and "alice" in text


def test_an_audience_inside_the_subset_runs_and_the_overrides_are_logged_with_the_user(
    capsys: pytest.CaptureFixture[str],
) -> None:
    op = _operator(only_audiences="high_value", allow_shrink="True", plan_only="False", allow_older="False")
    op._apply_run_overrides(_context("bob"))
    lines = [line for line in capsys.readouterr().out.splitlines() if "run overrides" in line]
    assert len(lines) == 1
    assert "meta high_value: run overrides allow_shrink=True, audiences=high_value by bob" in lines[0]


def test_no_override_no_subset_logs_nothing_and_runs(capsys: pytest.CaptureFixture[str]) -> None:
    op = _operator(only_audiences="", allow_shrink="False", plan_only="False", allow_older="False")
    op._apply_run_overrides(_context(None))
    assert "run overrides" not in capsys.readouterr().out


def test_allow_shrink_is_templated_like_the_other_overrides() -> None:
    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator

    fields = set(CioAudienceSyncOperator.template_fields)
    assert {"plan_only", "allow_older", "allow_shrink", "only_audiences"} <= fields


def test_the_triggering_user_comes_from_the_run_then_its_conf() -> None:
    assert triggered_by(_context("alice")) == "alice"
    assert triggered_by(_context(None, {"triggered_by": "ci-bot"})) == "ci-bot"
    assert "scheduler" in triggered_by(_context(None))
    assert "scheduler" in triggered_by({})


@given(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True), max_size=6))
def test_a_subset_reads_the_same_rendered_or_as_a_list(names: list[str]) -> None:
    assert subset(",".join(names)) == frozenset(names)
    assert subset(", ".join(names)) == frozenset(names)
    assert subset(names) == frozenset(names)
    assert subset(str(names)) == frozenset(names)  # a list rendered without join


@given(st.one_of(st.booleans(), st.none(), st.text(max_size=8)))
def test_only_true_reads_as_true(value: Any) -> None:
    expected = value is True or (isinstance(value, str) and value.strip().lower() == "true")
    assert flag(value) is expected


def test_the_sync_summary_is_one_line_with_the_counts() -> None:
    report = {
        "status": "synced",
        "mode": "mirror",
        "plan": {"mode": "mirror", "adds": 120, "removes": 30, "snapshot_size": 4512},
    }
    assert summary_line("meta", "high_value", report) == (
        "meta high_value: 120 added, 30 removed, 4,512 in audience (mirror)"
    )
    dry = summary_line("google", "lapsed", {**report, "status": "dry_run", "members_unapplied": 0})
    assert dry.endswith("; dry run: nothing sent") and "\n" not in dry
    superseded = summary_line("meta", "x", {"status": "superseded", "mode": "append", "plan": {}})
    assert superseded == "meta x: 0 added, 0 removed, ? in audience (append); superseded: nothing sent"
    unapplied = summary_line("meta", "x", {**report, "members_unapplied": 1500})
    assert unapplied.endswith("; 1,500 not applied by the platform (sent again next run)")


def test_the_summary_reads_a_real_sync_report(emulator, destination, store) -> None:  # type: ignore[no-untyped-def]
    """The keys the summary reads are the ones the sync core writes (a run against the Meta emulator)."""
    from meta_sync_support import make_members

    from airflow_provider_cio.sync import Guardrails, SyncRequest, run_sync

    def sync(ids: range) -> dict[str, Any]:
        report = run_sync(
            destination,
            store,
            SyncRequest(
                audience_name="winback",
                members=make_members(ids),
                mode="mirror",
                quality_passed=True,
                guards=Guardrails(min_size=10),
            ),
        )
        return report.to_dict()

    sync(range(100))
    line = summary_line("meta", "winback", sync(range(20, 130)))
    assert line == "meta winback: 30 added, 20 removed, 110 in audience (mirror)"
    again = summary_line("meta", "winback", sync(range(20, 130)))
    assert again.startswith("meta winback: 0 added, 0 removed, 110 in audience (mirror)")
