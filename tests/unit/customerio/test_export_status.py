"""The one reading of an export's status: what the client, the landing loop and the trigger all act on."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.customerio.export_status import ExportStatus, ExportWait, export_status


def test_the_three_documented_statuses_read_as_themselves_in_any_case() -> None:
    assert export_status({"status": "done"}) is ExportStatus.DONE
    assert export_status({"status": "DONE", "failed": False}) is ExportStatus.DONE
    assert export_status({"status": "failed"}) is ExportStatus.FAILED
    assert export_status({"status": "pending"}) is ExportStatus.PENDING


def test_the_failed_flag_wins_over_a_done_status() -> None:
    assert export_status({"status": "done", "failed": True}) is ExportStatus.FAILED


def test_a_missing_or_unknown_status_is_still_pending() -> None:
    assert export_status({}) is ExportStatus.PENDING
    assert export_status({"status": None}) is ExportStatus.PENDING
    assert export_status({"status": "processing"}) is ExportStatus.PENDING


_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))


@given(st.dictionaries(st.sampled_from(["status", "failed", "type", "id"]), _values, max_size=4))
def test_any_answer_reads_as_exactly_one_status_by_the_documented_rule(export: dict[str, Any]) -> None:
    status = export_status(export)
    text = str(export.get("status", "")).lower()
    if export.get("failed") is True or text == "failed":
        assert status is ExportStatus.FAILED
    elif text == "done":
        assert status is ExportStatus.DONE
    else:
        assert status is ExportStatus.PENDING


def test_wait_outcomes_keep_the_strings_trigger_events_carry() -> None:
    # trigger events are serialized: their status must stay a plain, stable string
    assert [w.value for w in ExportWait] == ["done", "failed", "timeout", "error"]
