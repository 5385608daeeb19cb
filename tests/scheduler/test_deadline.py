"""The freshness deadline of ``cio_export``: ``export_late`` as a plain async function, then its wiring under a real
scheduler (backfilled days are long past ``logical date + 30 h``, so each backfill run misses its deadline at once
and the triggerer awaits ``export_late``, which forwards to the test's webhook)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from scheduler_support import DATES, RUN_TIMEOUT, WEBHOOK_ENV, Backfill, Reference, Webhook, covered

from airflow_provider_cio.notifications.deadline import export_late
from cio_devkit.standalone import Standalone

CONTEXT = {
    "dag_run": {
        "dag_id": "cio_export",
        "run_id": "scheduled__2026-11-02T00:00:00+00:00",
        "logical_date": "2026-11-02T00:00:00Z",  # fires when 2026-11-01 ends, and covers it
        "data_interval_start": "2026-11-02T00:00:00Z",
        "data_interval_end": "2026-11-02T00:00:00Z",
    },
    "deadline": {"id": "d1", "deadline_time": "2026-11-02T06:00:00+00:00"},
}


def test_export_late_formats_a_triage_message(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CIO__DOCS_BASE_URL", "https://code.example.test/retention/docs/")
    with caplog.at_level(logging.ERROR, logger="airflow_provider_cio.notifications.deadline"):
        message = asyncio.run(export_late(context=CONTEXT))
    lines = message.splitlines()
    assert lines[0] == "[UPSTREAM_DATA] cio_export missed its freshness deadline for partition 2026-11-01"
    assert lines[1] == "cause: export for 2026-11-01 not landed by 2026-11-02T06:00:00+00:00"
    # a link from the [cio] docs_base_url setting, not a repo path
    assert "runbook: https://code.example.test/retention/docs/runbook.md#upstream-data-errors" in lines
    assert "run: scheduled__2026-11-02T00:00:00+00:00" in lines
    assert message in caplog.text


def test_export_late_without_context_still_says_what_is_late() -> None:
    message = asyncio.run(export_late())
    assert "cause: export for ? not landed by ?" in message


def test_export_late_forwards_to_the_webhook_named_by_env(monkeypatch: pytest.MonkeyPatch) -> None:
    with Webhook() as hook:
        monkeypatch.setenv("CIO_ONCALL_HOOK_FOR_TEST", hook.url)
        message = asyncio.run(export_late(context=CONTEXT, webhook_url_env="CIO_ONCALL_HOOK_FOR_TEST"))
    assert hook.bodies == [{"text": message}]


def test_export_late_survives_an_unreachable_webhook(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with Webhook() as hook:
        dead = hook.url  # closed on exit: nothing listens there any more
    monkeypatch.setenv("CIO_ONCALL_HOOK_FOR_TEST", dead)
    with caplog.at_level(logging.WARNING, logger="airflow_provider_cio.notifications.deadline"):
        message = asyncio.run(
            export_late(context=CONTEXT, webhook_url_env="CIO_ONCALL_HOOK_FOR_TEST", timeout=2)
        )
    assert message.startswith("[UPSTREAM_DATA]")
    assert "not forwarded" in caplog.text


@pytest.mark.integration
@pytest.mark.timeout(1200)
def test_deadline_alert_fires_for_runs_past_their_deadline(
    scheduler: Standalone, backfilled: tuple[Backfill, Reference], webhook: Webhook
) -> None:
    assert scheduler.env[WEBHOOK_ENV] == webhook.url

    def alerted_dates() -> set[str] | None:
        dates = {
            line.removeprefix("cause: export for ")[:10]
            for body in webhook.bodies
            for line in body["text"].splitlines()
            if line.startswith("cause: export for ")
        }
        return dates if dates >= {covered(d) for d in DATES} else None

    dates = scheduler.wait_until(alerted_dates, timeout=RUN_TIMEOUT, what="a deadline alert per backfill run")
    # the scheduler's own catch-up runs after the backfill (no tasks: start_date is ahead) miss theirs as well
    assert dates >= {covered(d) for d in DATES}  # each names the day its run lands, not its logical date
    assert all(body["text"].startswith("[UPSTREAM_DATA] cio_export") for body in webhook.bodies)
