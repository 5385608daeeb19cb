"""Issue 16, defect 9, under a real scheduler: unpausing ``cio_export`` (``@daily``, start date in the past, no
catch-up) and ``cio_cart_recovery`` (``@hourly``) makes the scheduler create the runs of today 00:00 and of this
hour, as it does in production. Each lands the period that has **ended** (yesterday, the previous hour), never the
one that has just begun: before, the daily run landed today minutes after midnight and its gates failed
``EmptyPartition``. Every other test passed explicit dates (``dags test``, backfills), so none saw it.

Own ``airflow standalone`` (its own AIRFLOW_HOME, workspace and DAG config), so it runs alone:
``.venv/bin/pytest tests/scheduler/test_scheduled_period.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from scheduler_support import RUN_TIMEOUT, failed_tasks

from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import project_root
from cio_devkit.standalone import Standalone

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]


def _config(path: Path, workspace: str) -> Path:
    """The devstack config, light: one dataset a day, one an hour, no audience syncs; started days ago."""
    config = yaml.safe_load((project_root() / "dags" / "config" / "devstack.yaml").read_text())
    config["workspace"] = workspace
    config["start_date"] = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d")
    config["catchup"] = False  # the scheduler creates only the latest run: the one that fired last
    config["export"]["datasets"] = ["metrics"]
    config["export"]["deadline_hours"] = 0
    # no settle wait: run just after midnight, the day's land task would otherwise defer past this test's timeout
    # (the wait itself is tested in tests/unit/operators/test_covered_period.py)
    config["export"]["settle_minutes"] = 0
    config["cart_recovery"] = {"datasets": ["deliveries"], "audiences": [], "settle_minutes": 0}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def workspace() -> str:
    return f"period{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def airflow(
    devstack: Devstack, tmp_path_factory: pytest.TempPathFactory, workspace: str
) -> Iterator[Standalone]:
    folder = tmp_path_factory.mktemp("scheduled-period")
    config = _config(folder / "dag_config.yaml", workspace)
    with Standalone(folder / "airflow", devstack.environment(), dag_config=config, parallelism=4) as running:
        running.wait_for_dag("cio_export")
        running.wait_for_dag("cio_cart_recovery")
        yield running


def _first_scheduled_run(airflow: Standalone, dag_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        runs = [r for r in airflow.dag_runs(dag_id) if r["run_type"] == "scheduled"]
        first = min(runs, key=lambda r: r["logical_date"]) if runs else None
        return first if first and first["state"] in ("success", "failed") else None

    return dict(
        airflow.wait_until(finished, timeout=RUN_TIMEOUT, what=f"a scheduled {dag_id} run", interval=2)
    )


def _manifest(store: Any, prefix: str) -> dict[str, Any]:
    return dict(json.loads(store.read_bytes(f"{prefix}/_manifest.json")))


def test_scheduled_daily_and_hourly_runs_land_the_period_that_ended(
    airflow: Standalone, workspace: str
) -> None:
    from airflow_provider_cio.hooks.blob import object_store

    store = object_store("cio_blob", "customerio")
    airflow.unpause("cio_export")
    airflow.unpause("cio_cart_recovery")

    daily = _first_scheduled_run(airflow, "cio_export")
    fired = datetime.fromisoformat(daily["logical_date"])
    assert (fired.hour, fired.minute) == (0, 0) and fired <= datetime.now(UTC), daily
    states = airflow.task_states("cio_export", daily["dag_run_id"])
    assert states.get("land_metrics") == "success", failed_tasks(airflow, "cio_export", daily)
    day, ended = (fired - timedelta(days=1)).date(), fired.date()
    base = f"landing/dev/{workspace}/metrics"
    manifest = _manifest(store, f"{base}/dt={day}")
    assert manifest["partition"].endswith(f"dt={day}")
    assert store.list(f"{base}/dt={ended}/") == [], (
        f"the daily run of {fired} landed the day that had just begun"
    )

    hourly = _first_scheduled_run(airflow, "cio_cart_recovery")
    fired = datetime.fromisoformat(hourly["logical_date"])
    assert fired.minute == 0 and fired <= datetime.now(UTC), hourly
    states = airflow.task_states("cio_cart_recovery", hourly["dag_run_id"])
    assert states.get("land_deliveries_hourly") == "success", failed_tasks(
        airflow, "cio_cart_recovery", hourly
    )
    hour = fired - timedelta(hours=1)
    base = f"landing/dev/{workspace}/deliveries"
    prefix = f"{base}/dt={hour.date()}/hr={hour.hour:02d}"
    assert _manifest(store, prefix)["partition"].endswith(f"hr={hour.hour:02d}")
    assert store.list(f"{base}/dt={fired.date()}/hr={fired.hour:02d}/") == [], (
        f"the hourly run of {fired} landed the hour that had just begun"
    )
