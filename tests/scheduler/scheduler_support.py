"""Helpers for the scheduler tests (the fixtures are in conftest.py): the DAG config they run, the webhook that
records deadline alerts, and backfill-and-wait."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from airflow_provider_cio.storage.base import BlobNotFound
from cio_devkit.devstack.stack import project_root
from cio_devkit.standalone import Standalone, StandaloneError

DATES = ("2026-10-29", "2026-10-30", "2026-10-31")  # logical dates of the backfill runs
REFERENCE_DATE = "2026-10-30"


def covered(logical: str) -> str:
    """The day a daily run of that logical date lands: the day that ended when it fired (operators/_partition.py)."""
    from datetime import date

    return (date.fromisoformat(logical) - timedelta(days=1)).isoformat()


AUDIENCE = "suppress_recent_purchasers"
WEBHOOK_ENV = "CIO_TEST_DEADLINE_WEBHOOK"
# a backfill of three days takes about two minutes here: this bounds a hang, it does not time a run
RUN_TIMEOUT = 420.0


class Webhook:
    """A local on-call webhook: records each JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_dag_config(
    path: Path, *, workspace: str, deadline_hours: float, webhook_env: str = "", start_date: str = ""
) -> Path:
    """The devstack config with our workspace, one audience, the deadline setting and a start_date (default: a
    year ahead, so a scheduler creates no catch-up runs that do work)."""
    config = yaml.safe_load((project_root() / "dags" / "config" / "devstack.yaml").read_text())
    config["workspace"] = workspace
    config["start_date"] = start_date or (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%d")
    config["export"]["deadline_hours"] = deadline_hours
    config["export"]["deadline_webhook_env"] = webhook_env
    definitions = config["audiences"]["definitions"]
    config["audiences"]["definitions"] = {AUDIENCE: definitions[AUDIENCE]}
    # the config refuses a cart audience it does not define
    config["cart_recovery"]["audiences"] = [a for a in config["cart_recovery"]["audiences"] if a == AUDIENCE]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def google_list_for(devstack_env: dict[str, str], workspace: str) -> dict[str, str]:
    """The devstack's Data Manager connection with a Customer Match list for this workspace's audience.

    The devstack's lists are the demo workspace's; Data Manager cannot create one, so it is created as a user would
    (in Google Ads: here through the Google Ads backend on the same emulator) and mapped by its platform name.
    """
    from airflow_provider_cio.hooks.google import GoogleCustomerMatchHook
    from airflow_provider_cio.sync.naming import AudienceOwner, platform_audience_name

    name = platform_audience_name("dev", workspace, AUDIENCE)
    owner = AudienceOwner("dev", workspace, AUDIENCE).description()
    list_id = (
        GoogleCustomerMatchHook("cio_google_ads").get_destination().ensure_audience(name, description=owner)
    )
    key = "AIRFLOW_CONN_CIO_GOOGLE_DM"
    connection = json.loads(devstack_env[key])
    connection["extra"]["user_list_ids"] = {**connection["extra"]["user_list_ids"], name: list_id}
    return {key: json.dumps(connection)}


@dataclass
class Backfill:
    """What one ``airflow backfill create`` did: its id, its runs (by date) and how long it took."""

    backfill_id: int
    runs: dict[str, dict[str, Any]]
    seconds: float
    workspace: str
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)  # "dataset/date" -> manifest JSON
    listings: dict[str, list[str]] = field(default_factory=dict)  # "dataset/date" -> blob names under it


@dataclass
class Reference:
    workspace: str
    seconds: float
    returncode: int
    output: str


def backfill(airflow: Standalone, *args: str) -> Backfill:
    """``airflow backfill create`` over DATES, then wait until the scheduler marks it completed."""
    known = {b["id"] for b in _backfills(airflow)}
    started = time.monotonic()
    command = [
        "backfill",
        "create",
        "--dag-id",
        "cio_export",
        "--from-date",
        DATES[0],
        "--to-date",
        DATES[-1],
    ]
    for _ in range(3):
        created = airflow.cli(*command, "--max-active-runs", "3", *args, check=False, attempts=1)
        if created.returncode == 0:
            break
        output = created.stdout + created.stderr
        partial = [b for b in _backfills(airflow) if b["id"] not in known]
        if not partial and "database is locked" not in output:
            raise StandaloneError(f"airflow backfill create exited {created.returncode}:\n{output[-2000:]}")
        # SQLite's "database is locked" can stop `backfill create` half-way: its backfill committed with the runs of
        # its first dates only (seen here: 1 of 3). Let that part finish, then create the whole backfill again.
        airflow.wait_until(
            lambda seen=frozenset(known): all(
                b["completed_at"] for b in _backfills(airflow) if b["id"] not in seen
            ),
            timeout=RUN_TIMEOUT,
            what="a half-created backfill to finish",
            interval=2,
        )
        known |= {b["id"] for b in partial}
    else:
        raise StandaloneError(f"airflow backfill create kept failing:\n{output[-2000:]}")

    def completed() -> dict[str, Any] | None:
        for item in _backfills(airflow):
            if item["id"] not in known and item["completed_at"]:
                return dict(item)
        return None

    done = airflow.wait_until(completed, timeout=RUN_TIMEOUT, what="backfill completed", interval=2)
    seconds = time.monotonic() - started
    runs = {
        run["logical_date"][:10]: run
        for run in airflow.dag_runs("cio_export")
        if run["run_type"] == "backfill" and run["logical_date"][:10] in DATES
    }
    return Backfill(backfill_id=int(done["id"]), runs=runs, seconds=seconds, workspace="")


def _backfills(airflow: Standalone) -> list[dict[str, Any]]:
    return list(airflow.api("GET", "/api/v2/backfills?dag_id=cio_export")["backfills"])


def snapshot(result: Backfill, store: Any, workspace: str, datasets: list[str]) -> Backfill:
    """Record each run's partition's manifest and the names of every blob under it (keyed by the run's date)."""
    result.workspace = workspace
    for dataset in datasets:
        for date in DATES:
            prefix = f"landing/dev/{workspace}/{dataset}/dt={covered(date)}"
            try:
                manifest = json.loads(store.read_bytes(f"{prefix}/_manifest.json"))
            except BlobNotFound:
                manifest = {}  # the run failed: the tests report its task states
            result.manifests[f"{dataset}/{date}"] = manifest
            result.listings[f"{dataset}/{date}"] = sorted(store.list(prefix + "/"))
    return result


def failed_tasks(airflow: Standalone, dag_id: str, run: dict[str, Any]) -> str:
    """For assertion messages: the task states of a run that did not succeed, and the log tail."""
    try:
        states = airflow.task_states(dag_id, run["dag_run_id"])
    except StandaloneError as exc:
        states = {"?": str(exc)}
    return f"{run['dag_run_id']}: {run['state']} {states}\n{airflow.log_tail(1500)}"
