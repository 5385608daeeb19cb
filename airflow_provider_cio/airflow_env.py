"""The Airflow environment the demo and the tests run in: a private AIRFLOW_HOME, our DAGs, devstack connections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CUSTOMERIO_POOL = "customerio_api"
CUSTOMERIO_POOL_DESCRIPTION = "Customer.io App API: 10 req/s per workspace"


def airflow_env(home: Path, dags_folder: Path, connections: dict[str, str]) -> dict[str, str]:
    """Environment variables for ``airflow`` CLI calls (SQLite metadata DB, no examples, low parallelism)."""
    env = dict(os.environ)
    env.update(connections)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "GX_ANALYTICS_ENABLED": "False",
            "NO_PROXY": "*",
        }
    )
    return env


def airflow_cli(
    env: dict[str, str], *args: str, check: bool = True, capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the ``airflow`` CLI of this interpreter's environment."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    return subprocess.run([airflow, *args], env=env, check=check, text=True, capture_output=capture)


def migrate(env: dict[str, str]) -> None:
    """Create or upgrade the metadata DB (idempotent, a few seconds)."""
    airflow_cli(env, "db", "migrate", capture=True)


def write_pool_policy(home: Path) -> None:
    """A cluster policy in ``home`` that puts every ``cio_export`` ``land_*`` task in the one-slot ``CUSTOMERIO_POOL``.

    The Customer.io App API allows 10 req/s per workspace and ``/v1/activities`` pages as fast as the budget allows:
    with four land tasks in parallel, a sibling's export download was answered 429 six times in a row and the task
    failed (seen here). ``dags test`` runs one task at a time, so it never shows; a scheduler needs the pool (create
    it with ``airflow pools set`` or the REST API). See docs/backfills.md.
    """
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "airflow_local_settings.py").write_text(
        "def task_policy(task):\n"
        "    if task.dag_id == 'cio_export' and task.task_id.startswith('land_'):\n"
        f"        task.pool = {CUSTOMERIO_POOL!r}\n"
    )
