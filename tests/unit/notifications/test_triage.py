from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from airflow_provider_cio.notifications.notifier import CioFailureNotifier
from airflow_provider_cio.notifications.triage import classify, scrub, triage
from airflow_provider_cio.sync.errors import ConfigurationError, GuardrailBlocked, PlatformError


class _GateFailed(Exception):
    error_class = "upstream_data"
    result = object()


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            ConfigurationError("Meta token expired (code 190)", who_must_act="the token owner"),
            "configuration",
        ),
        (PlatformError("throttled", retry_after=60), "platform"),
        (_GateFailed("deliveries dt=2026-11-01 failed 2 critical checks"), "upstream_data"),
        (
            GuardrailBlocked("max_shrink", "audience would shrink 90%", override="allow_shrink=True"),
            "upstream_data",
        ),
        (ZeroDivisionError("division by zero"), "bug"),
        (TimeoutError("read timed out"), "platform"),
    ],
)
def test_each_error_class_is_recognised(exc: BaseException, expected: str) -> None:
    assert classify(exc) == expected


def test_a_wrapped_exception_is_classified_by_its_cause() -> None:
    try:
        try:
            raise PlatformError("503 from Graph")
        except PlatformError as inner:
            raise RuntimeError("sync failed") from inner
    except RuntimeError as outer:
        assert classify(outer) == "platform"


def test_scrub_masks_emails_phones_and_secrets() -> None:
    text = scrub("user jane.doe@example.com phone +1 (650) 555-1212 token=EAAB1234567890abcdef")
    assert "jane.doe@example.com" not in text and "j***@example.com" in text
    assert "555-1212" not in text
    assert "EAAB1234567890abcdef" not in text


def test_guard_failure_links_the_guard_section_and_carries_the_summary() -> None:
    exc = GuardrailBlocked(
        "max_shrink", "audience would shrink from 1000 to 100 (90%)", override="allow_shrink=True"
    )
    result = triage(exc, dag_id="cio_audiences", task_id="sync_meta", run_id="r1", partition="2026-11-01")
    message = result.message()
    assert message.startswith("[UPSTREAM_DATA] cio_audiences.sync_meta failed for partition 2026-11-01")
    assert "runbook: docs/runbook.md#guard-max_shrink" in message
    assert "allow_shrink=True" in message


def test_notifier_sends_one_message_and_forwards_it() -> None:
    received: list[str] = []

    class Capture(CioFailureNotifier.__mro__[1]):  # a BaseNotifier subclass standing in for Slack/SMTP
        template_fields = ("text",)

        def __init__(self) -> None:
            super().__init__()
            self.text = "{{ cio_triage }}"

        def notify(self, context):  # type: ignore[no-untyped-def]
            received.append(self.text)

    notifier = CioFailureNotifier(forward_to=[Capture()], runbook_base="https://example.org/runbook.md")
    ti = SimpleNamespace(dag_id="cio_export", task_id="land_people", log_url="http://af/log")
    context = {
        "ti": ti,
        "exception": ConfigurationError(
            "Customer.io rejected the App API key (401)", who_must_act="workspace admin"
        ),
        "run_id": "scheduled__2026-11-02",
        # the daily run fired at 2026-11-02 00:00 (CronTriggerTimetable: empty interval) covers 2026-11-01
        "logical_date": datetime(2026, 11, 2, tzinfo=UTC),
        "data_interval_start": datetime(2026, 11, 2, tzinfo=UTC),
        "data_interval_end": datetime(2026, 11, 2, tzinfo=UTC),
    }
    notifier.notify(context)
    assert len(received) == 1
    assert received[0].startswith("[CONFIGURATION] cio_export.land_people failed for partition 2026-11-01")
    assert "https://example.org/runbook.md#configuration-errors" in received[0]
    assert "log: http://af/log" in received[0]
