"""The sync operator does not hold a worker slot while Google processes what it sent: it defers on a timer and,
back from the deferral, resumes the run from its ledger (polls; sends nothing again).

``_sync`` is narrowed to the run itself (the real ``run_sync``, our Data Manager destination, the real client and the
emulator on a hand-moved clock): snapshot and interval reading are covered by the DAG tests; what is checked here
is the operator's wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dm_support import Clock, destination
from google_support import CUSTOMER, email_key, emails_in, member

from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import (
    Guardrails,
    PlatformError,
    StillProcessing,
    SyncRequest,
    SyncRuntime,
    run_sync,
)
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(tls=True, settings=EmulatorSettings(dm_processing_seconds=900), clock_ns=clock)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def operator(emulator: GoogleEmulator, clock: Clock, **kwargs: Any) -> CioAudienceSyncOperator:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id, poll_interval_seconds=60, poll_budget_seconds=600)
    dest.max_batch_size = 10
    store = MemoryObjectStore()
    snapshot = [member(i) for i in range(20)]

    class Narrowed(CioAudienceSyncOperator):
        def _sync(self, context: Any) -> dict[str, Any]:
            report = run_sync(
                dest,
                store,
                SyncRequest(
                    audience_name="vip",
                    members=snapshot,
                    guards=Guardrails(min_size=5),
                    quality_passed=True,
                ),
                runtime=SyncRuntime(
                    sleep=clock.sleep,
                    now=clock.now,
                ),
            )
            return report.to_dict()

    op = Narrowed(
        task_id="sync_vip_google", audience="vip", platform="google", conn_id="g", workspace="ws", **kwargs
    )
    op.list_id = list_id  # type: ignore[attr-defined]
    return op


def test_a_slow_platform_defers_and_each_resume_only_polls(emulator: GoogleEmulator, clock: Clock) -> None:
    from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
    from airflow.sdk.exceptions import TaskDeferred

    emulator.inject("slow_processing", method="IngestAudienceMembers", delay_seconds=3 * 3600)
    op = operator(emulator, clock, deferrable=True)
    deferrals = 0
    call, kwargs = op.execute, {}
    while True:
        try:
            report = call({}, **kwargs)
            break
        except TaskDeferred as deferred:
            deferrals += 1
            assert deferrals < 50
            assert (
                isinstance(deferred.trigger, TimeDeltaTrigger) and deferred.method_name == "execute_complete"
            )
            waited_before = kwargs.get("waited", 0.0)
            kwargs = dict(deferred.kwargs or {})
            clock.sleep(kwargs["waited"] - waited_before)  # the trigger's timer, on the platform's clock
            call = op.execute_complete

    assert deferrals > 1 and report["status"] == "synced"
    assert len(emulator.calls("IngestAudienceMembers")) == 2  # each batch once, over every resume
    assert emails_in(emulator.members(CUSTOMER, op.list_id)) == {email_key(i) for i in range(20)}  # type: ignore[attr-defined]


def test_without_deferrable_the_wait_is_a_retryable_platform_error(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    emulator.inject("slow_processing", method="IngestAudienceMembers", delay_seconds=3 * 3600)
    op = operator(emulator, clock, deferrable=False)
    with pytest.raises(StillProcessing) as raised:
        op.execute({})
    assert raised.value.error_class == "platform"


def test_the_deferred_wait_is_bounded(emulator: GoogleEmulator, clock: Clock) -> None:
    from airflow.sdk.exceptions import TaskDeferred

    emulator.inject("slow_processing", method="IngestAudienceMembers", delay_seconds=30 * 24 * 3600)
    op = operator(emulator, clock, deferrable=True, max_processing_seconds=3600)
    kwargs: dict[str, Any] = {}
    with pytest.raises(PlatformError, match="still processing after"):
        for _ in range(50):
            try:
                op.execute_complete({}, **kwargs)
            except TaskDeferred as deferred:
                kwargs = dict(deferred.kwargs or {})
                clock.sleep(600)
