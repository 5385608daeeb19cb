"""Kill a sync worker (SIGKILL, no clean-up) after some acknowledged batches, run it again: the audience ends
exact and no batch reaches the platform twice (the emulator's request log is the witness)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from chaos_support import FULL, META_ACCOUNT, META_SECRET, META_TOKEN, azurite_port, start_worker, wait_for

from airflow_provider_cio.sync.runner import audience_slug
from cio_devkit.devstack.stack import blob_connection_string

AUDIENCE = "chaos lapsed buyers"


def _config(devstack, store, meta, tmp_path: Path, last: int, batch: int, **extra: Any) -> dict[str, Any]:
    return {
        "connection_string": blob_connection_string(azurite_port(devstack)),
        "container": store.container_name,
        "graph_url": meta.url,
        "token": META_TOKEN,
        "secret": META_SECRET,
        "account": META_ACCOUNT,
        "audience": AUDIENCE,
        "first": 0,
        "last": last,
        "batch": batch,
        "report": str(tmp_path / "report.json"),
        "held": str(tmp_path / "held"),
        **extra,
    }


def _acknowledged(store) -> int:
    return sum("/batches/" in p for p in store.list(f"ledger/meta/{audience_slug(AUDIENCE)}/runs/"))


def _kill(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _assert_exact(meta, report: dict[str, Any], expected: int) -> None:
    edits = meta.edit_requests(ok_only=False)
    keys = [(r["session_id"], r["batch_seq"]) for r in edits]
    assert len(keys) == len(set(keys)), "a batch was sent twice"
    assert all(r["status"] == 200 for r in edits), [r["status"] for r in edits]
    assert sum(r["rows"] for r in edits) == expected  # every member sent exactly once
    assert set(meta.audience_members(report["audience_id"])) == {f"x:cust-{i:06d}" for i in range(expected)}


def test_worker_killed_after_k_batches_then_retried_resumes_exactly(
    devstack, container_store, meta, tmp_path, full
) -> None:
    size, batch, k = (20_000, 250, 17) if full else (1_200, 100, 4)
    config = _config(devstack, container_store, meta, tmp_path, size, batch, hold_after=k)
    worker = start_worker(config, tmp_path / "worker.log")
    try:
        wait_for(lambda: (tmp_path / "held").exists(), timeout=120, what=f"{k} acknowledged batches")
        assert _acknowledged(container_store) == k
    finally:
        _kill(worker)
    assert not (tmp_path / "report.json").exists()

    retry = start_worker({**config, "hold_after": None}, tmp_path / "worker.log")
    assert retry.wait(timeout=300) == 0, (tmp_path / "worker.log").read_text()[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["batches_skipped"] == k
    assert report["batches_sent"] == size // batch - k
    _assert_exact(meta, report, size)


def test_worker_killed_after_the_platform_acknowledged_but_before_the_ledger_write(
    devstack, container_store, meta, tmp_path, full
) -> None:
    """The narrow window: Meta has batch k, the ledger does not. The retry must neither resend it (Meta refuses a
    repeated batch_seq, which used to fail every retry) nor lose it."""
    size, batch, k = (20_000, 250, 23) if full else (1_200, 100, 5)
    config = _config(devstack, container_store, meta, tmp_path, size, batch, hold_in_flight=k)
    worker = start_worker(config, tmp_path / "worker.log")
    try:
        wait_for(lambda: (tmp_path / "held").exists(), timeout=120, what=f"batch {k} acknowledged by Meta")
        assert _acknowledged(container_store) == k - 1
        assert len(meta.edit_requests()) == k
    finally:
        _kill(worker)
    retry = start_worker({**config, "hold_in_flight": None}, tmp_path / "worker.log")
    assert retry.wait(timeout=300) == 0, (tmp_path / "worker.log").read_text()[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["batches_skipped"] == k
    assert "recorded now, not sent again" in (tmp_path / "worker.log").read_text()
    _assert_exact(meta, report, size)


@pytest.mark.skipif(
    not FULL, reason="full chaos only (CIO_CHAOS=full): kills at unplanned moments, several rounds"
)
def test_worker_killed_at_arbitrary_moments_repeatedly_then_completes(
    devstack, container_store, meta, tmp_path, full
) -> None:
    """No pause point: the kill lands wherever the worker is (sending, or writing the ledger)."""
    size, batch, rounds = 20_000, 200, 4
    config = _config(devstack, container_store, meta, tmp_path, size, batch, hold_after=None)
    for round_ in range(1, rounds + 1):
        worker = start_worker(config, tmp_path / "worker.log")
        target = round_ * (size // batch) // (rounds + 1)
        try:
            wait_for(
                lambda t=target: _acknowledged(container_store) >= t, timeout=120, what=f"{target} batches"
            )
        finally:
            _kill(worker)
    final = start_worker(config, tmp_path / "worker.log")
    assert final.wait(timeout=300) == 0, (tmp_path / "worker.log").read_text()[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["batches_skipped"] + report["batches_sent"] == size // batch
    _assert_exact(meta, report, size)
