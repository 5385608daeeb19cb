"""A guarded sync pauses for on-call in a real Airflow (scheduler, api-server) and goes on as on-call answers.

One Airflow start for the module, one DAG run holding three audiences (Meta), each synced at 1,000 members and now
snapshotted at 100 (a 90% shrink): the wiring is the reference DAGs' own (``dag_wiring.gate_and_sync``) behind a
stand-in build task. On-call approves the first through the REST API (the platform audience becomes the snapshot,
the ledger records the approver), rejects the second and leaves the third unanswered past its one-minute timeout (both
stay at 1,000). The snapshots, their gate and the prior syncs run against the devstack's Azurite and Meta emulator.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from approval_support import Run, settled_size, start_airflow, trigger

from cio_devkit.devstack import Devstack

APPROVED, REJECTED, UNANSWERED = "appr_yes", "appr_no", "appr_late"
DEFINITIONS = {
    APPROVED: {"destinations": ["meta"], "mode": "mirror"},
    REJECTED: {"destinations": ["meta"], "mode": "mirror"},
    UNANSWERED: {"destinations": ["meta"], "mode": "mirror", "approval_timeout_minutes": 1},
}


@pytest.fixture(scope="module")
def workspace() -> str:
    return f"appr{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def store(devstack: Devstack) -> Any:
    from airflow_provider_cio.hooks.blob import object_store

    return object_store("cio_blob", "customerio")


@pytest.fixture(scope="module")
def run(devstack: Devstack, tmp_path_factory: pytest.TempPathFactory, workspace: str) -> Iterator[Run]:
    """Airflow on the test DAG, the three audiences seeded, one run triggered (it pauses at its approvals)."""
    folder = tmp_path_factory.mktemp("approval")
    with start_airflow(devstack, folder, workspace, DEFINITIONS) as airflow:
        yield Run(airflow, trigger(airflow))


def test_a_90_percent_shrink_pauses_at_the_approval_with_its_figures(run: Run) -> None:
    for name in (APPROVED, REJECTED):
        assert run.wait_for(f"approve_meta_{name}", {"awaiting_input"}) == "awaiting_input"
    # the unanswered one asked too (it may have timed out already on a loaded machine: its own test checks that)
    assert run.wait_for(f"approve_meta_{UNANSWERED}", {"awaiting_input"}) in ("awaiting_input", "failed")
    assert "max_shrink" in str(run.request(f"approve_meta_{UNANSWERED}")["subject"])
    states = run.states()
    assert states[f"guard_meta_{APPROVED}"] == "success" and states[f"sync_meta_{APPROVED}"] in (None, "none")
    request = run.request(f"approve_meta_{APPROVED}")
    body = str(request["body"])
    for figure in ("1,000", "900", "90.0%", "max_shrink", "dt=2026-11-01: 1,000", "dt=2026-11-02: 100"):
        assert figure in body, body
    assert "Gate report" in body and "@" not in body and "c000001" not in body
    assert request["options"] == ["Approve", "Reject"]


def test_approved_the_platform_audience_becomes_the_snapshot_and_the_ledger_names_the_approver(
    run: Run, devstack: Devstack, workspace: str, store: Any
) -> None:
    assert run.wait_parked(f"approve_meta_{APPROVED}") == "awaiting_input"
    answered = run.answer(f"approve_meta_{APPROVED}", "Approve")
    assert answered["chosen_options"] == ["Approve"]
    state = run.wait_for(f"sync_meta_{APPROVED}")
    assert state == "success", run.log(f"approve_meta_{APPROVED}") + run.airflow.log_tail()

    assert settled_size(devstack, run.airflow, workspace, APPROVED) == 100
    done = [
        json.loads(store.read_bytes(path))
        for path in store.list(f"ledger/dev/{workspace}/meta/")
        if path.endswith("/done.json") and APPROVED in path
    ]
    approvals = [d["approval"] for d in done if d.get("approval")]
    assert len(approvals) == 1 and approvals[0]["approved_by"] == "admin"
    assert approvals[0]["guards"] == ["max_shrink"] and approvals[0]["figures"]["expected_size"] == 100


def test_rejected_nothing_is_sent(run: Run, devstack: Devstack, workspace: str) -> None:
    assert run.wait_parked(f"approve_meta_{REJECTED}") == "awaiting_input"
    run.answer(f"approve_meta_{REJECTED}", "Reject")
    assert run.wait_for(f"sync_meta_{REJECTED}") == "skipped"
    assert settled_size(devstack, run.airflow, workspace, REJECTED) == 1000


def test_unanswered_the_request_times_out_and_nothing_is_sent(
    run: Run, devstack: Devstack, workspace: str
) -> None:
    assert run.wait_for(f"approve_meta_{UNANSWERED}") == "failed"
    # the scheduler marks the sync on a later loop than the one that failed its approval
    assert run.wait_for(f"sync_meta_{UNANSWERED}") == "upstream_failed"
    assert settled_size(devstack, run.airflow, workspace, UNANSWERED) == 1000
