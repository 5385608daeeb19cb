"""Drive DAG runs on a running Airflow through its REST API and check where their tasks ran.

Used by ``scripts/test_distributed.sh``: wait for the API server and for the DAGs to be parsed, unpause them,
trigger one run per (DAG, logical date), wait (bounded) until every run has finished, then require that every
task instance that ran did so on one of the expected Celery workers (its ``hostname``). Writes the runs to a JSON
file for ``check_state.py``. Talks to the public REST API (``/api/v2``) only, never to the metadata DB.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

FINISHED = {"success", "failed"}
RAN = {"success", "failed", "up_for_retry", "running"}


class DriveError(RuntimeError):
    """The runs could not be driven to a verdict (API down, DAG never parsed, a run that never finished)."""


@dataclass
class Run:
    dag_id: str
    run_id: str
    logical_date: str
    state: str = "queued"
    task_instances: list[dict[str, Any]] = field(default_factory=list)


class Watch:
    """The deployment's processes (name:pid): a component that died fails the run now, not at the timeout."""

    def __init__(self, spec: str) -> None:
        self.pids = {name: int(pid) for name, pid in (item.split(":") for item in spec.split())}

    @staticmethod
    def alive(pid: int) -> bool:
        """Running and not a zombie (an exited child its parent has not reaped yet)."""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def check(self) -> None:
        dead = [name for name, pid in self.pids.items() if not self.alive(pid)]
        if dead:
            raise DriveError(f"component(s) exited: {', '.join(dead)} (see their logs)")


class Api:
    """The few REST calls we need; the simple auth manager runs in all-admins mode, so no token."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base}{path}", timeout=self.timeout)

    def send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.request(method, f"{self.base}{path}", json=body, timeout=self.timeout)
        if response.status_code >= 300:
            raise DriveError(f"{method} {path} -> HTTP {response.status_code}: {response.text[:300]}")
        return dict(response.json())


def wait_for(what: str, ready: Any, timeout: float, watch: Watch, interval: float = 1.0) -> None:
    """Poll ``ready()`` until true; a connection error counts as not ready yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watch.check()
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(interval)
    raise DriveError(f"timed out after {timeout:.0f} s waiting for {what}")


def trigger_all(api: Api, dag_ids: list[str], dates: list[str], timeout: float, watch: Watch) -> list[Run]:
    wait_for("the API server health endpoint", lambda: api.get("/api/v2/monitor/health").ok, timeout, watch)
    for dag_id in dag_ids:
        parsed = lambda d=dag_id: api.get(f"/api/v2/dags/{d}").ok  # noqa: E731
        wait_for(f"DAG {dag_id} to be parsed", parsed, timeout, watch)
        api.send("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    runs = []
    for dag_id in dag_ids:
        for date in dates:
            body = {
                "dag_run_id": f"distributed__{date}",
                "logical_date": f"{date}T00:00:00Z",
                "conf": {},
            }
            created = api.send("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
            runs.append(Run(dag_id, created["dag_run_id"], date, created.get("state", "queued")))
    return runs


def wait_finished(api: Api, runs: list[Run], timeout: float, watch: Watch, interval: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(runs)
    while pending and time.monotonic() < deadline:
        time.sleep(interval)
        watch.check()
        for run in list(pending):
            response = api.get(f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}")
            if response.ok:
                run.state = response.json()["state"]
            if run.state in FINISHED:
                pending.remove(run)
    for run in runs:
        response = api.get(f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances?limit=1000")
        if response.ok:
            run.task_instances = [
                {key: ti.get(key) for key in ("task_id", "map_index", "state", "hostname", "try_number")}
                for ti in response.json()["task_instances"]
            ]
    if pending:
        names = ", ".join(f"{run.dag_id}/{run.run_id} ({run.state})" for run in pending)
        raise DriveError(f"runs still not finished after {timeout:.0f} s: {names}")


def placement_problems(runs: list[Run], workers: set[str]) -> list[str]:
    """Every task instance that ran must name one of our Celery workers; at least one must have run."""
    problems = []
    ran = [ti for run in runs for ti in run.task_instances if ti["state"] in RAN]
    if not ran:
        problems.append("no task instance ran at all")
    for run in runs:
        for ti in run.task_instances:
            if ti["state"] in RAN and ti["hostname"] not in workers:
                problems.append(
                    f"{run.dag_id}/{run.run_id}/{ti['task_id']} ran on {ti['hostname']!r}, not a Celery worker"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True, help="base URL of the API server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--dags", required=True, help="space- or comma-separated DAG ids")
    parser.add_argument("--dates", required=True, help="space- or comma-separated logical dates (YYYY-MM-DD)")
    parser.add_argument("--workers", required=True, help="comma-separated expected worker hostnames")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the runs to finish")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds for API and parsing")
    parser.add_argument("--out", type=Path, required=True, help="write the runs here (JSON)")
    parser.add_argument("--watch", default="", help="space-separated name:pid of the deployment's processes")
    args = parser.parse_args(argv)

    def split(value: str) -> list[str]:
        return [item for item in value.replace(",", " ").split() if item]

    api = Api(args.api)
    watch = Watch(args.watch)
    workers = set(split(args.workers))
    runs: list[Run] = []
    try:
        runs = trigger_all(api, split(args.dags), split(args.dates), args.startup_timeout, watch)
        print(f"triggered {len(runs)} run(s): " + ", ".join(f"{r.dag_id}/{r.logical_date}" for r in runs))
        wait_finished(api, runs, args.timeout, watch)
    except (DriveError, requests.RequestException) as exc:
        print(f"run_dags: {exc}", file=sys.stderr)
        args.out.write_text(json.dumps([asdict(run) for run in runs], indent=2))
        return 1
    args.out.write_text(json.dumps([asdict(run) for run in runs], indent=2))

    placement: Counter[str] = Counter()
    for run in runs:
        tis = ", ".join(f"{ti['task_id']}={ti['state']}@{ti['hostname']}" for ti in run.task_instances)
        print(f"  {run.dag_id:<24} {run.logical_date}  {run.state:<8} {tis}")
        placement.update(ti["hostname"] for ti in run.task_instances if ti["state"] in RAN)
    print("task instances per worker: " + ", ".join(f"{host}={n}" for host, n in sorted(placement.items())))
    failed = [run for run in runs if run.state != "success"]
    problems = [f"{run.dag_id}/{run.run_id} finished {run.state}" for run in failed]
    problems += placement_problems(runs, workers)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
