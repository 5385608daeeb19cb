"""Reach lags: Meta counts an audience hours after a sync, so the figure read right after it describes the audience
before it. The next sync reads the count before sending anything; the history gives that settled figure to the
sync it belongs to. End to end: ``run_sync`` -> the facebook-business SDK -> the Graph emulator with a count delay
(its clock moved by hand) -> ``record_sync``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from meta_sync_support import ACCOUNT, SECRET, TOKEN, make_members

from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
from airflow_provider_cio.reporting.history import SyncHistory, settled
from airflow_provider_cio.reporting.record import record_sync
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Guardrails, SyncRequest, SyncRuntime, run_sync
from cio_devkit.emulators.meta import MetaGraphEmulator
from cio_devkit.emulators.meta.settings import MetaEmulatorSettings

HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def graph(clock: Clock) -> Iterator[MetaGraphEmulator]:
    settings = MetaEmulatorSettings(count_delay=6 * HOUR, count_digits=6)  # exact counts, six hours late
    emulator = MetaGraphEmulator(
        access_token=TOKEN, app_secret=SECRET, ad_account_id=ACCOUNT, settings=settings, clock=clock
    ).start()
    yield emulator
    emulator.stop()


def test_a_later_sync_fills_in_the_reach_the_platform_reported_late(
    graph: MetaGraphEmulator, clock: Clock
) -> None:
    meta = MetaCustomAudienceDestination(ACCOUNT, TOKEN, SECRET, graph_url=graph.url, max_batch_size=100)
    store = MemoryObjectStore("cio")
    history = SyncHistory(store, env="dev", workspace="demo")
    days = [(range(300), date(2026, 11, 1)), (range(250), date(2026, 11, 2)), (range(260), date(2026, 11, 3))]
    reports = []
    for ids, day in days:
        report = run_sync(
            meta,
            store,
            SyncRequest(
                audience_name="lagging",
                members=make_members(ids),
                guards=Guardrails(min_size=1, max_shrink=1.0),
                quality_passed=True,
            ),
            runtime=SyncRuntime(
                sleep=lambda _s: None,
            ),
        ).to_dict()
        reports.append(report)
        record_sync(
            store,
            report,
            env="dev",
            workspace="demo",
            audience="lagging",
            covered=day,
            recorded_at=datetime.combine(day, datetime.min.time(), UTC),
        )
        clock.now += 24 * HOUR  # a day later Meta has counted the sync

    # read right after each sync, the count still describes the audience before it (0: nothing counted yet)
    assert [r["platform_stats"]["approximate_count_lower_bound"] for r in reports] == [0, 300, 250]
    # read before each later sync sent anything: the previous sync's settled count
    assert reports[0]["platform_stats_before"] == {}  # a first sync has no audience to read
    assert [r["platform_stats_before"]["approximate_count_lower_bound"] for r in reports[1:]] == [300, 250]

    rows = history.rows(audience="lagging")
    assert [row.reach for row in rows] == [None, 300, 250]  # as recorded: each a sync late
    assert [row.reach for row in settled(rows)] == [
        300,
        250,
        250,
    ]  # each sync's own audience, the last pending
