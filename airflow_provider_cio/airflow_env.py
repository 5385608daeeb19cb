"""The Airflow environment the demo and the tests run in: a private AIRFLOW_HOME, our DAGs, devstack connections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
