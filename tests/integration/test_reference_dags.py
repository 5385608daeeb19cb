"""Each reference DAG runs green on the devstack; a bad upstream stops the syncs behind its gate."""

from __future__ import annotations

import json
import urllib.request

import pytest

from airflow_provider_cio.hooks.blob import object_store
from airflow_provider_cio.sync.runner import ledger_prefix
from cio_devkit.devstack import Devstack

DATE = "2026-11-01"  # the day landed and built
RUN = "2026-11-02"  # the logical date of the daily run that covers DATE (it fires when DATE has ended)


@pytest.fixture(scope="module")
def exported(airflow):  # type: ignore[no-untyped-def]
    code, output = airflow.dags_test("cio_export", RUN)
    assert code == 0, output[-4000:]
    return airflow


def test_export_lands_and_gates_every_dataset(exported) -> None:  # type: ignore[no-untyped-def]
    store = object_store("cio_blob", "customerio")
    for dataset in ("people", "deliveries", "metrics", "events"):
        prefix = f"landing/dev/demo/{dataset}/dt={DATE}"
        manifest = json.loads(store.read_bytes(f"{prefix}/_manifest.json"))
        assert manifest["rows"] > 0
        assert json.loads(store.read_bytes(f"{prefix}/_quality/result.json"))["success"] is True
    states = exported.latest_run_states("cio_export")
    assert set(states.values()) == {"success"}


def test_rerunning_the_same_date_gives_the_same_rows_and_no_extra_files(exported) -> None:  # type: ignore[no-untyped-def]
    store = object_store("cio_blob", "customerio")
    prefix = f"landing/dev/demo/deliveries/dt={DATE}"
    before = json.loads(store.read_bytes(f"{prefix}/_manifest.json"))
    code, output = exported.dags_test("cio_export", RUN)
    assert code == 0, output[-4000:]
    after = json.loads(store.read_bytes(f"{prefix}/_manifest.json"))
    assert after["content_sha256"] == before["content_sha256"]
    assert after["generation"] != before["generation"]
    parts = [name for name in store.list(prefix + "/") if name.endswith(".parquet")]
    assert sorted(parts) == sorted(p["path"] for p in after["parts"])


def test_audiences_build_gate_and_sync_to_both_platforms(exported, devstack: Devstack) -> None:  # type: ignore[no-untyped-def]
    code, output = exported.dags_test("cio_audiences", RUN)
    assert code == 0, output[-4000:]
    states = exported.latest_run_states("cio_audiences")
    syncs = {task: state for task, state in states.items() if task.startswith("sync_")}
    assert syncs and set(syncs.values()) == {"success"}
    store = object_store("cio_blob", "customerio")
    ledger = ledger_prefix("ledger/dev/demo", "meta", "cio/dev/demo/suppress_recent_purchasers")
    state = json.loads(store.read_bytes(f"{ledger}/state.json"))
    stats = json.loads(
        store.read_bytes(f"audiences/dev/demo/suppress_recent_purchasers/dt={DATE}/_stats.json")
    )
    assert state["size"] == stats["size"] > 0
    # the workspace's own Meta audience holds exactly its ledger's members, whatever other suites synced
    port = devstack.read_state()["services"]["meta"]["port"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_admin/audiences", timeout=10) as response:
        live = {a["name"]: a for a in json.loads(response.read())}
    assert live["cio/dev/demo/suppress_recent_purchasers"]["id"] == state["audience_id"]
    assert live["cio/dev/demo/suppress_recent_purchasers"]["size"] == state["size"]


def test_incrementality_writes_a_lift_report(exported) -> None:  # type: ignore[no-untyped-def]
    code, output = exported.dags_test("cio_incrementality", RUN)
    assert code == 0, output[-4000:]
    store = object_store("cio_blob", "customerio")
    reports = store.list("reports/dev/demo/incrementality/paid_retention/")
    assert any(name.endswith("lift.png") for name in reports)
    assert any(name.endswith("report.html") for name in reports)


def test_a_bad_upstream_export_fails_the_gate_and_the_syncs_do_not_run(
    exported,
    devstack: Devstack,  # type: ignore[no-untyped-def]
) -> None:
    port = devstack.read_state()["services"]["customerio"]["port"]
    faults = f"http://127.0.0.1:{port}/_admin/faults"
    fault = json.dumps({"kind": "drop_column", "column": "customer_id", "count": 1000}).encode()
    urllib.request.urlopen(urllib.request.Request(faults, data=fault, method="POST"), timeout=10).close()
    try:
        code, output = exported.dags_test("cio_cart_recovery", f"{DATE}T11:00:00+00:00")  # covers 10:00-11:00
    finally:
        urllib.request.urlopen(urllib.request.Request(faults, method="DELETE"), timeout=10).close()
    assert code != 0
    states = exported.latest_run_states("cio_cart_recovery")
    assert states["gate_deliveries_hourly"] == "failed"
    assert states["build_cart_audiences"] == "upstream_failed"
    assert {s for t, s in states.items() if t.startswith("sync_")} == {"upstream_failed"}
    assert "identity_coverage" in output or "customer_id" in output
    assert "[UPSTREAM_DATA] cio_cart_recovery.gate_deliveries_hourly failed" in output
