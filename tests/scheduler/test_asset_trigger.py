"""The gates' Asset events from ``cio_export`` runs trigger ``cio_audiences`` under a real scheduler, and its syncs
reach the Meta and Google emulators (checked against the sync ledger in Blob and Meta's own membership)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from scheduler_support import AUDIENCE, DATES, RUN_TIMEOUT, Backfill, covered, failed_tasks

from airflow_provider_cio.sync.naming import platform_audience_name
from airflow_provider_cio.sync.runner import ledger_prefix
from cio_devkit.devstack import Devstack
from cio_devkit.standalone import Standalone

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]  # the fixtures run whole backfills


def test_gate_assets_trigger_cio_audiences_and_its_syncs_land(
    scheduler: Standalone,
    reprocessed: Backfill,
    devstack: Devstack,
    landing_store: Any,
    workspace: str,
) -> None:
    def first_finished() -> dict[str, Any] | None:
        runs = [r for r in scheduler.dag_runs("cio_audiences") if r["state"] in ("success", "failed")]
        return runs[0] if runs else None

    run = scheduler.wait_until(
        first_finished, timeout=RUN_TIMEOUT, what="an asset-triggered cio_audiences run", interval=2
    )
    assert run["run_type"] == "asset_triggered", run
    assert run["state"] == "success", failed_tasks(scheduler, "cio_audiences", run)
    states = scheduler.task_states("cio_audiences", run["dag_run_id"])
    assert states == {
        "build_audiences": "success",
        f"gate_{AUDIENCE}": "success",
        # no guard would block: each approval step skips itself and its sync runs
        f"guard_meta_{AUDIENCE}": "success",
        f"approve_meta_{AUDIENCE}": "skipped",
        f"sync_meta_{AUDIENCE}": "success",
        f"guard_google_{AUDIENCE}": "success",
        f"approve_google_{AUDIENCE}": "skipped",
        f"sync_google_{AUDIENCE}": "success",
    }

    # the snapshot was built for one of the backfilled days (the newest whose events had arrived)
    snapshots = landing_store.list(f"audiences/dev/{workspace}/{AUDIENCE}/")
    built = {name.split("/dt=")[1][:10] for name in snapshots if name.endswith("/_stats.json")}
    assert built and built <= {covered(d) for d in DATES}, built

    # this workspace's own platform audiences: the other suites' syncs of the same definition never reach them
    name = platform_audience_name("dev", workspace, AUDIENCE)
    google_ledger, meta_ledger = (
        ledger_prefix(f"ledger/dev/{workspace}", p, name) for p in ("google", "meta")
    )
    google = json.loads(landing_store.read_bytes(f"{google_ledger}/state.json"))
    assert google["size"] > 0

    meta_port = devstack.read_state()["services"]["meta"]["port"]

    def meta_matches_ledger() -> tuple[dict[str, Any], dict[str, Any]] | None:
        # a later triggered run may be mid-sync: wait until Meta and the ledger agree (bounded)
        state = json.loads(landing_store.read_bytes(f"{meta_ledger}/state.json"))
        with urllib.request.urlopen(f"http://127.0.0.1:{meta_port}/_admin/audiences", timeout=10) as response:
            audiences = {a["id"]: a for a in json.loads(response.read())}
        live = audiences.get(state["audience_id"])
        return (state, live) if live and live["size"] == state["size"] else None

    state, live = scheduler.wait_until(
        meta_matches_ledger, timeout=120, what="Meta membership == ledger state"
    )
    assert state["size"] >= 20, state  # the devstack config's min_size guard
    assert live["size"] == state["size"] and live["name"] == name
