"""One real Airflow (``airflow standalone``) for the scheduler tests, and the runs they all look at.

Expensive things happen once per session, in fixtures, in this order: ``airflow dags test`` of the middle day into
another workspace (the reference), while Airflow starts on our DAGs (about a minute on two cores) -> backfill
``cio_export`` over three days -> unpause ``cio_audiences`` and reprocess the same three days (the gates' Asset
events now trigger the audiences). Tests assert on what those left behind.

The DAG config is a copy of ``dags/config/devstack.yaml`` with: its own workspace (paths and platform audiences no
other test touches; its Google list is mapped on the Data Manager connection), a ``start_date`` a year ahead (so the
scheduler creates no catch-up runs with tasks of its own: only the backfill runs do work), one audience synced to
Meta and Google (enough to prove the Asset trigger and the syncs), and the freshness deadline switched on with its
alert forwarded to a webhook served here.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from scheduler_support import (
    REFERENCE_DATE,
    RUN_TIMEOUT,
    WEBHOOK_ENV,
    Backfill,
    Reference,
    Webhook,
    backfill,
    google_list_for,
    snapshot,
    write_dag_config,
)

from cio_devkit.airflow_env import airflow_env, migrate
from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import project_root
from cio_devkit.standalone import Standalone


@pytest.fixture(scope="session")
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


@pytest.fixture(scope="session")
def workspace() -> str:
    return f"sched{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def scheduler(
    devstack: Devstack,
    tmp_path_factory: pytest.TempPathFactory,
    webhook: Webhook,
    workspace: str,
    reference_run: ReferenceRun,
) -> Iterator[Standalone]:
    """``airflow standalone`` on our DAGs, stopped (the whole session of processes) at the end."""
    folder = tmp_path_factory.mktemp("scheduler")
    config = write_dag_config(
        folder / "dag_config.yaml", workspace=workspace, deadline_hours=30, webhook_env=WEBHOOK_ENV
    )
    env = {**devstack.environment(), WEBHOOK_ENV: webhook.url}
    env.update(google_list_for(env, workspace))
    home = folder / "airflow"
    with Standalone(
        home, env, dag_config=config, parallelism=4
    ) as airflow:  # creates the config's App API pool
        airflow.wait_for_dag("cio_export")
        airflow.wait_for_dag("cio_audiences")
        yield airflow


@pytest.fixture(scope="session")
def landing_store(devstack: Devstack) -> Any:
    from airflow_provider_cio.hooks.blob import object_store

    return object_store("cio_blob", "customerio")


@pytest.fixture(scope="session")
def datasets() -> list[str]:
    config = yaml.safe_load((project_root() / "dags" / "config" / "devstack.yaml").read_text())
    return list(config["export"]["datasets"])


class ReferenceRun:
    """``airflow dags test cio_export REFERENCE_DATE`` in its own AIRFLOW_HOME and workspace, in the background."""

    def __init__(self, folder: Path, devstack: Devstack, workspace: str) -> None:
        self.workspace = workspace
        # `dags test` creates no tasks for a logical date before the DAG's start_date (it exits 0 having done
        # nothing), and there is no scheduler in this AIRFLOW_HOME: start the DAG before the reference day
        config = write_dag_config(
            folder / "dag_config.yaml", workspace=workspace, deadline_hours=0, start_date="2026-10-01"
        )
        env = airflow_env(folder / "airflow", project_root() / "dags", devstack.environment())
        env["CIO_DAG_CONFIG"] = str(config)
        migrate(env)
        self.started = time.monotonic()
        self.log_path = folder / "dags_test.log"
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("airflow")),
                    "dags",
                    "test",
                    "cio_export",
                    REFERENCE_DATE,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def result(self) -> Reference:
        returncode = self.proc.wait(timeout=RUN_TIMEOUT)
        seconds = time.monotonic() - self.started
        return Reference(self.workspace, seconds, returncode, self.log_path.read_text()[-4000:])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def reference_run(
    devstack: Devstack, tmp_path_factory: pytest.TempPathFactory, workspace: str
) -> Iterator[ReferenceRun]:
    """Started before the scheduler, so it runs while Airflow boots (CPU-bound imports) and is done before the
    backfill starts: Customer.io's /v1/activities has no time filter and a 10 req/s budget per workspace, so
    concurrent exports would only queue behind each other (or exhaust their retries on 429s)."""
    run = ReferenceRun(tmp_path_factory.mktemp("reference"), devstack, f"{workspace}ref")
    try:
        yield run
    finally:
        run.kill()


@pytest.fixture(scope="session")
def backfilled(
    scheduler: Standalone,
    reference_run: ReferenceRun,
    landing_store: Any,
    workspace: str,
    datasets: list[str],
) -> tuple[Backfill, Reference]:
    """The first backfill of DATES (one run at a time), and the reference ``dags test`` of REFERENCE_DATE."""
    reference = reference_run.result()
    scheduler.unpause("cio_export")
    result = backfill(scheduler)
    return snapshot(result, landing_store, workspace, datasets), reference


@pytest.fixture(scope="session")
def reprocessed(
    scheduler: Standalone,
    backfilled: tuple[Backfill, Reference],
    landing_store: Any,
    workspace: str,
    datasets: list[str],
) -> Backfill:
    """``--reprocess-behavior completed`` over the same dates, with ``cio_audiences`` listening to the Assets."""
    scheduler.unpause("cio_audiences")
    result = backfill(scheduler, "--reprocess-behavior", "completed")
    return snapshot(result, landing_store, workspace, datasets)
