"""The match rate drops on the Google emulator (Data Manager, real client over gRPC with TLS): the history records
the platform's ranges run after run, and the drift alert fires through the notifier's delivery with the figures."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from airflow.sdk import BaseNotifier

from airflow_provider_cio.destinations.google.datamanager import (
    DataManagerDestination,
    build_ingestion_client,
)
from airflow_provider_cio.notifications.drift import send_drift_alerts
from airflow_provider_cio.reporting.history import SyncHistory
from airflow_provider_cio.reporting.record import record_sync
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Guardrails, SyncRequest, SyncRuntime, run_sync
from airflow_provider_cio.sync.destination import Member
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings

ACCOUNT = "1234567890"


class HandClock:
    def __init__(self) -> None:
        self.ns = time.time_ns()

    def __call__(self) -> int:
        return self.ns

    def sleep(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.ns / 1e9, dt.UTC)


class Captured(BaseNotifier):
    """A forwarded notifier (Slack, SMTP in a deployment) that keeps what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def notify(self, context: Any) -> None:
        self.messages.append(context["cio_triage"])


def person(i: int) -> Member:
    digest = hashlib.sha256(f"user{i}@example.com".encode()).hexdigest()
    return Member(f"c{i:03d}", {"email": (digest,)}, consent=True)


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
def google(clock: HandClock) -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(tls=True, settings=EmulatorSettings(dm_processing_seconds=90), clock_ns=clock)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def test_a_match_rate_drop_on_the_platform_fires_the_alert_with_its_figures(
    google: GoogleEmulator, clock: HandClock
) -> None:
    list_id = google.create_user_list(ACCOUNT, "vip")
    assert google.cert_path is not None
    channel = grpc.secure_channel(
        google.target, grpc.ssl_channel_credentials(root_certificates=google.cert_path.read_bytes())
    )
    dest = DataManagerDestination(
        build_ingestion_client(channel=channel),
        operating_account_id=ACCOUNT,
        user_list_ids={"vip": str(list_id)},
        sleep=clock.sleep,
        now=clock.now,
    )
    store = MemoryObjectStore()
    notifier = Captured()
    day0 = dt.date(2026, 11, 1)
    sent: list[list[str]] = []
    for day, percent in enumerate([70, 72, 68, 35]):
        google.settings.match_rate_percent = percent
        report = run_sync(
            dest,
            store,
            SyncRequest(
                audience_name="vip",
                members=[
                    person(i) for i in range(30 + 10 * day)
                ],  # ten new members a day: one upload each run
                guards=Guardrails(min_size=5),
                quality_passed=True,
            ),
            runtime=SyncRuntime(
                sleep=clock.sleep,
                now=clock.now,
            ),
        )
        recorded = record_sync(
            store,
            report.to_dict(),
            env="dev",
            workspace="demo",
            audience="vip",
            covered=day0 + dt.timedelta(days=day),
            recorded_at=clock.now(),
        )
        sent.append(send_drift_alerts(recorded.alerts, {}, [notifier]))
        clock.sleep(24 * 3600)

    rows = SyncHistory(store, env="dev", workspace="demo").rows(audience="vip")
    assert [(r.match_rate_low, r.match_rate_high) for r in rows] == [(61, 70), (71, 80), (61, 70), (31, 40)]
    assert [r.rows_sent for r in rows] == [30, 10, 10, 10]
    assert all(r.backend == "data_manager" and r.request_statuses == '{"SUCCESS": 1}' for r in rows)
    assert sent[:3] == [[], [], []]  # steady rates alert nobody
    (message,) = notifier.messages
    assert sent[3] == [message]
    assert "[DRIFT] vip on google: match rate 35.5%" in message
    assert "median of the 3 sync(s) before 65.5%" in message  # median of 65.5, 75.5, 65.5
    assert "period 2026-11-04" in message and "who acts" in message


def test_a_sync_that_fails_after_its_report_still_enters_the_history(
    google: GoogleEmulator, clock: HandClock
) -> None:
    from types import SimpleNamespace

    from airflow_provider_cio.operators._sync_history import failed_report, record_and_alert
    from airflow_provider_cio.sync.errors import MembersNotApplied

    list_id = google.create_user_list(ACCOUNT, "vip")
    assert google.cert_path is not None
    channel = grpc.secure_channel(
        google.target, grpc.ssl_channel_credentials(root_certificates=google.cert_path.read_bytes())
    )
    dest = DataManagerDestination(
        build_ingestion_client(channel=channel),
        operating_account_id=ACCOUNT,
        user_list_ids={"vip": str(list_id)},
        sleep=clock.sleep,
        now=clock.now,
    )
    dest.max_batch_size = 10
    store = MemoryObjectStore()

    def fail_second_upload(operation: str, done: int, total: int) -> None:
        if done == 1:
            google.inject("request_failed", method="IngestAudienceMembers")

    with pytest.raises(MembersNotApplied) as failed:
        run_sync(
            dest,
            store,
            SyncRequest(
                audience_name="vip",
                members=[person(i) for i in range(30)],
                guards=Guardrails(min_size=5),
                quality_passed=True,
            ),
            runtime=SyncRuntime(
                sleep=clock.sleep,
                now=clock.now,
                after_batch=fail_second_upload,
            ),
        )
    report = failed_report(store, failed.value)
    assert report is not None and report["rows_sent"] == 30
    operator = SimpleNamespace(
        env="dev", workspace="demo", audience="vip", platform="google", alert_to=[], drift={}
    )
    pointers = record_and_alert(operator, store, report, dt.date(2026, 11, 1), {"run_id": "scheduled__x"})
    assert pointers["row"] and pointers["trend_html"] and pointers["alerts"] == []
    (row,) = SyncHistory(store, env="dev", workspace="demo").rows(audience="vip")
    assert (row.rows_sent, row.rows_rejected, row.rows_accepted) == (30, 10, 20)
    assert row.rejected_by_reason == '{"PROCESSING_ERROR_REASON_INTERNAL_ERROR": 10}'
    assert row.request_statuses == '{"FAILED": 1, "SUCCESS": 2}' and row.dag_run_id == "scheduled__x"
    assert failed_report(store, RuntimeError("no report")) is None
