"""Alerts outside a task's failure (the freshness deadline, match-rate drift) carry the runbook as a link from the
``[cio] docs_base_url`` setting, like the failure headline: never a bare repository path."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_cio.notifications.deadline import late_export_message
from airflow_provider_cio.notifications.links import runbook_base
from airflow_provider_cio.reporting.alerts import DriftAlert

ALERT = DriftAlert(
    kind="match_rate",
    audience="vip",
    platform="google",
    destination="cio/dev/demo/vip",
    current=55.5,
    baseline=75.5,
    threshold="alert below 10 points under the baseline",
    runs=3,
    covered="2026-11-01",
)


def _late() -> str:
    return late_export_message(
        dag_id="cio_export", run_id="r", partition="2026-11-01", deadline="t", waiting_for="the morning sync"
    )


def _runbook_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("runbook: "))


def test_configured_docs_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CIO__DOCS_BASE_URL", "https://code.example.test/org/repo/blob/main/docs/")
    base = "runbook: https://code.example.test/org/repo/blob/main/docs/runbook.md"
    assert _runbook_line(_late()) == f"{base}#upstream-data-errors"
    assert _runbook_line(ALERT.message(runbook_base=runbook_base())) == f"{base}#match-rate-and-reach-drift"


def test_unset_links_this_checkouts_docs_as_a_file_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__CIO__DOCS_BASE_URL", raising=False)
    docs = (Path(__file__).resolve().parents[3] / "docs").as_uri()
    assert _runbook_line(_late()) == f"runbook: {docs}/runbook.md#upstream-data-errors"
    assert (
        _runbook_line(ALERT.message(runbook_base=runbook_base()))
        == f"runbook: {docs}/runbook.md#match-rate-and-reach-drift"
    )


def test_the_drift_alert_alone_reads_no_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The alert is core code: without the base the operator passes it links the relative runbook path."""
    monkeypatch.setenv("AIRFLOW__CIO__DOCS_BASE_URL", "https://code.example.test/org/repo/blob/main/docs/")
    assert _runbook_line(ALERT.message()) == "runbook: docs/runbook.md#match-rate-and-reach-drift"


def test_an_explicit_runbook_still_wins() -> None:
    assert _runbook_line(ALERT.message(runbook="https://wiki.example.test/drift")) == (
        "runbook: https://wiki.example.test/drift"
    )
