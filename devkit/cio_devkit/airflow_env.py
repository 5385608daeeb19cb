"""The Airflow environment the demo and the tests run in: a private AIRFLOW_HOME, our DAGs, devstack connections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# SQLite lets one writer in at a time and makes the others wait only 5 s by default; with a scheduler, a
# dag-processor, a triggerer, an api-server and CLI calls (make demo's `dags test` beside make ui) sharing one file,
# writers failed with "database is locked". Airflow imports this dict via [database] sql_alchemy_connect_args.
SQLITE_CONNECT_ARGS: dict[str, Any] = {"timeout": 60}


def devstack_home(state_dir: Path) -> Path:
    """The one ``AIRFLOW_HOME`` of ``make demo`` and ``make ui`` (``.devstack/airflow``): the UI shows the demo's
    runs, and a run triggered in the UI sees the demo's."""
    return state_dir / "airflow"


def airflow_env(home: Path, dags_folder: Path, connections: dict[str, str]) -> dict[str, str]:
    """Environment variables for ``airflow`` CLI calls (SQLite metadata DB with a 60 s busy wait, no examples, low
    parallelism)."""
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
    if env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite").startswith("sqlite"):
        for key in ("SQL_ALCHEMY_CONNECT_ARGS", "SQL_ALCHEMY_CONNECT_ARGS_ASYNC"):
            # the import path, never __name__: under `python -m` that is "__main__", which Airflow's processes
            # cannot import (every `make ui` exited at once with AirflowConfigException)
            env[f"AIRFLOW__DATABASE__{key}"] = "cio_devkit.airflow_env.SQLITE_CONNECT_ARGS"
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
