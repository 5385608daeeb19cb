"""``pipeline_state`` reads the final state where the pipeline writes it: the demo prints it and the distributed
test asserts on it, so a path that drifts from the writers would make both report nothing."""

from __future__ import annotations

import json

import pytest
from meta_sync_support import make_members

from airflow_provider_cio import pipeline_state
from airflow_provider_cio.dag_config import CioDagConfig, load_dag_config
from airflow_provider_cio.sync import Guardrails, SyncRequest, run_sync
from cio_devkit.devstack.stack import project_root

DATE = "2026-11-01"


@pytest.fixture
def cfg(monkeypatch: pytest.MonkeyPatch) -> CioDagConfig:
    monkeypatch.delenv("CIO_DAG_CONFIG", raising=False)
    return load_dag_config(project_root() / "dags" / "config" / "devstack.yaml")


def test_finds_the_ledger_a_sync_wrote_the_way_the_sync_task_calls_it(cfg, destination, store) -> None:  # type: ignore[no-untyped-def]
    audience = next(a for a in cfg.audiences if "meta" in a.destinations)
    report = run_sync(
        destination,
        store,
        SyncRequest(
            audience_name=cfg.platform_audience_name(audience, "meta"),
            members=make_members(range(30)),
            mode="mirror",
            guards=Guardrails(min_size=10),
            quality_passed=True,
            ledger_root=f"ledger/{cfg.env}/{cfg.workspace}",
        ),
    )
    found = next(a for a in pipeline_state.audiences(store, cfg, DATE) if a.name == audience.name)
    meta = next(s for s in found.syncs if s.platform == "meta")
    assert meta.state["size"] == 30 and meta.state["audience_id"] == report.audience_id
    assert meta.done["rows_sent"] == 30 and meta.done["status"] == "synced"
    assert found.gate == "not gated" and found.stats == {}


def test_landed_partitions_and_gate_verdicts(cfg, store) -> None:  # type: ignore[no-untyped-def]
    people = f"landing/{cfg.env}/{cfg.workspace}/people/dt={DATE}"
    store.write_bytes(f"{people}/_manifest.json", json.dumps({"rows": 5, "parts": []}).encode())
    store.write_bytes(f"{people}/_quality/result.json", json.dumps({"success": False}).encode())
    parts = {p.dataset: p for p in pipeline_state.landed(store, cfg, DATE)}
    assert list(parts) == cfg.datasets
    assert parts["people"].manifest["rows"] == 5 and parts["people"].gate == "FAILED"
    assert parts["events"].manifest == {} and parts["events"].gate == "not gated"


def test_a_days_objects_leave_out_its_hourly_partitions(cfg, store) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    import pyarrow as pa

    from airflow_provider_cio.landing.layout import PartitionRef
    from airflow_provider_cio.landing.writer import write_table

    table = pa.table({"delivery_id": ["d1", "d2"]})
    day = write_table(
        store, PartitionRef("landing", cfg.env, cfg.workspace, "deliveries", date(2026, 11, 1)), table
    )
    hour = write_table(
        store, PartitionRef("landing", cfg.env, cfg.workspace, "deliveries", date(2026, 11, 1), 10), table
    )

    day_objects = pipeline_state.partition_objects(store, day.partition)
    assert sorted(n for n in day_objects if n.endswith(".parquet")) == sorted(p.path for p in day.parts)
    assert not any("/hr=" in name for name in day_objects)
    assert hour.parts[0].path in pipeline_state.partition_objects(store, hour.partition)
    by_hour = {p.dataset: p for p in pipeline_state.landed(store, cfg, DATE, hour=10)}
    assert (
        by_hour["deliveries"].prefix.endswith(f"dt={DATE}/hr=10")
        and by_hour["deliveries"].manifest["rows"] == 2
    )


def test_finds_the_newest_lift_report_the_incrementality_task_wrote(cfg, store) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, date, datetime

    from airflow_provider_cio.audiences.incrementality import GroupOutcome, lift
    from airflow_provider_cio.audiences.incrementality_report import write_incrementality_report

    assert cfg.holdout is not None
    window = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    for day, converters in ((date(2026, 10, 31), 50), (date(2026, 11, 1), 80)):
        result = lift(GroupOutcome(1000, converters, 5.0, 1.0), GroupOutcome(100, 3, 4.0, 1.0))
        write_incrementality_report(
            store,
            result,
            env=cfg.env,
            workspace=cfg.workspace,
            program=cfg.holdout.program,
            dt=day,
            window=window,
        )
    found = pipeline_state.latest_lift(store, cfg)
    assert found["prefix"].endswith(f"/incrementality/{cfg.holdout.program}/dt=2026-11-01")
    assert found["treatment"] == 1000 and found["holdout"] == 100
    assert found["conversion_lift"] == pytest.approx(0.08 - 0.03)
