"""Reference DAGs against the devstack, through the real ``airflow`` CLI (``dags test``), as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cio_devkit.airflow_env import airflow_cli, airflow_env, migrate
from cio_devkit.devstack import Devstack

ROOT = Path(__file__).resolve().parents[2]


class AirflowRunner:
    """Runs ``airflow`` CLI commands in a private AIRFLOW_HOME wired to the session's devstack."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def dags_test(self, dag_id: str, logical_date: str) -> tuple[int, str]:
        result = airflow_cli(self.env, "dags", "test", dag_id, logical_date, check=False, capture=True)
        return result.returncode, result.stdout + result.stderr

    def cli_json(self, *args: str) -> Any:
        lines = airflow_cli(self.env, *args, capture=True).stdout.splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith(("[{", "[]", "{")))
        return json.loads("\n".join(lines[first:]))

    def latest_run_states(self, dag_id: str) -> dict[str, str]:
        runs = self.cli_json("dags", "list-runs", dag_id, "-o", "json")
        run_id = sorted(runs, key=lambda r: r.get("run_after") or "")[-1]["run_id"]
        states = self.cli_json("tasks", "states-for-dag-run", dag_id, run_id, "-o", "json")
        return {t["task_id"]: t["state"] for t in states}


@pytest.fixture(scope="session")
def airflow(devstack: Devstack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowRunner]:
    env = airflow_env(tmp_path_factory.mktemp("airflow-home"), ROOT / "dags", devstack.environment())
    env["CIO_DAG_CONFIG"] = str(ROOT / "dags" / "config" / "devstack.yaml")
    migrate(env)
    yield AirflowRunner(env)
