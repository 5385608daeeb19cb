"""Shared by tests/scheduler/test_sync_approval_on_scheduler.py and tests/ui/test_approval_browser.py: a test DAG wired like the
reference DAGs (``dag_wiring.gate_and_sync`` behind a stand-in build task), its config, audiences seeded at 1,000
members synced to Meta with today's snapshot at 100 (a 90% shrink), and the Meta emulator's admin view."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import project_root
from cio_devkit.standalone import Standalone

DAG_ID = "cio_approval_check"
LOGICAL = "2026-11-03T00:00:00+00:00"  # a daily run of 11-03 covers 11-02 (operators/_partition.py)
COVERED = datetime(2026, 11, 2, tzinfo=UTC)
FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}
# bounds a hang (Airflow's start, the run); never an assertion on time
WAIT = 300.0

DAG_FILE = f'''
"""Test DAG: the reference wiring of gate, guard check, approval and sync, behind a stand-in build."""
import os

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_provider_cio.dag_config import load_dag_config
from airflow_provider_cio.dag_wiring import gate_and_sync, sync_params

cfg = load_dag_config(os.environ["CIO_DAG_CONFIG"])
with DAG(
    dag_id="{DAG_ID}",
    schedule=None,
    start_date=pendulum.datetime(2026, 10, 1),
    catchup=False,
    params=sync_params([a.name for a in cfg.audiences]),
    default_args={{"owner": "retention-data", "retries": 0}},
):
    build = EmptyOperator(task_id="build_audiences")
    for audience in cfg.audiences:
        gate_and_sync(build, audience, cfg)
'''


def write_config(path: Path, workspace: str, definitions: dict[str, Any]) -> Path:
    """The devstack config with our workspace and these audience definitions, asking on-call on a guard."""
    config = yaml.safe_load((project_root() / "dags" / "config" / "devstack.yaml").read_text())
    config["workspace"] = workspace
    config["audiences"] = {
        "min_size": 10,
        "max_shrink": 0.30,
        "on_guard": "approve",
        "approval_timeout_minutes": 60,
        "definitions": definitions,
    }
    config["cart_recovery"]["audiences"] = []
    config.setdefault("warehouse", {})["engines"] = {}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def build_of(name: str, ids: range) -> Any:
    """A built audience as the build task writes it: customer ids and hashed identifiers per platform."""
    import hashlib

    import pyarrow as pa

    from airflow_provider_cio.audiences.builder import AudienceBuild

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    contract = project_root() / "airflow_provider_cio" / "quality" / "contracts" / "audience_snapshot.yaml"
    emails = [[sha(f"person{i}@example.com")] for i in ids]
    list_type = pa.list_(pa.string())
    columns: dict[str, Any] = {"customer_id": pa.array([f"c{i:06d}" for i in ids], pa.string())}
    for column in yaml.safe_load(contract.read_text())["columns"]:  # every column the gate expects
        if column["name"] != "customer_id":
            values = emails if column["name"].endswith("_email") else [[] for _ in ids]
            columns[column["name"]] = pa.array(values, list_type)
    table = pa.table(columns)
    stats = {"size": table.num_rows, "as_of": COVERED.isoformat(), "definition_version": "1"}
    return AudienceBuild(name=name, members=table, stats=stats)


def seed(store: Any, workspace: str, name: str) -> None:
    """Yesterday's 1,000-member snapshot synced to Meta (as yesterday's run did), then today's 100-member one."""
    from airflow_provider_cio.audiences.snapshot import snapshot_members, snapshot_ref, write_snapshot
    from airflow_provider_cio.hooks.meta import MetaCustomAudienceHook
    from airflow_provider_cio.sync import Guardrails, SyncRequest, run_sync
    from airflow_provider_cio.sync.naming import AudienceOwner, platform_audience_name

    before = snapshot_ref("dev", workspace, name, (COVERED - timedelta(days=1)).date())
    write_snapshot(store, before, build_of(name, range(1000)))
    run_sync(
        MetaCustomAudienceHook("cio_meta").get_destination(),
        store,
        SyncRequest(
            audience_name=platform_audience_name("dev", workspace, name),
            members=snapshot_members(store, before, "meta"),
            guards=Guardrails(min_size=10),
            quality_passed=True,
            ledger_root=f"ledger/dev/{workspace}",
            description=AudienceOwner("dev", workspace, name).description(),
            as_of=COVERED,
        ),
    )
    write_snapshot(store, snapshot_ref("dev", workspace, name, COVERED.date()), build_of(name, range(100)))


def meta_audiences(devstack: Devstack) -> dict[str, dict[str, Any]]:
    """The Meta emulator's admin view: every audience's exact size and pending edits, by name."""
    port = devstack.read_state()["services"]["meta"]["port"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_admin/audiences", timeout=10) as response:
        return {a["name"]: a for a in json.loads(response.read())}


def settled_size(devstack: Devstack, airflow: Standalone, workspace: str, name: str) -> int:
    from airflow_provider_cio.sync.naming import platform_audience_name

    full = platform_audience_name("dev", workspace, name)
    found = airflow.wait_until(
        lambda: (a := meta_audiences(devstack).get(full)) and not a["pending"] and a,
        timeout=WAIT,
        what=f"{full}'s pending edits applied",
    )
    return int(found["size"])


def start_airflow(
    devstack: Devstack, folder: Path, workspace: str, definitions: dict[str, Any]
) -> Standalone:
    """The test DAG and its config under ``folder``, each audience seeded; returns the (not yet started) Airflow."""
    import textwrap

    from airflow_provider_cio.hooks.blob import object_store

    dags = folder / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(textwrap.dedent(DAG_FILE))
    config = write_config(folder / "dag_config.yaml", workspace, definitions)
    store = object_store("cio_blob", "customerio")
    for name in definitions:
        seed(store, workspace, name)
    return Standalone(folder / "airflow", devstack.environment(), dags_folder=dags, dag_config=config)


def trigger(airflow: Standalone) -> str:
    """Unpause the test DAG and trigger its run of ``LOGICAL``; returns the run id."""
    airflow.wait_for_dag(DAG_ID, timeout=WAIT)
    airflow.unpause(DAG_ID)
    created = airflow.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": LOGICAL, "conf": {}})
    return str(created["dag_run_id"])


class Run:
    """One run of the test DAG: its task states; approval requests read and answered through the REST API."""

    def __init__(self, airflow: Standalone, run_id: str) -> None:
        self.airflow = airflow
        self.run_id = run_id
        self.quoted = urllib.parse.quote(run_id, safe="")

    def states(self) -> dict[str, str | None]:
        return self.airflow.task_states(DAG_ID, self.run_id)

    def wait_for(self, task: str, states: Collection[str] = ()) -> str:
        """The task's state once it is in ``states`` or finished (the caller asserts which)."""
        until = set(states) | FINISHED
        return str(
            self.airflow.wait_until(
                lambda: (s := self.states().get(task)) in until and s,
                timeout=WAIT,
                what=f"{task} in {sorted(until)}",
                interval=2,
            )
        )

    def wait_parked(self, task: str) -> str:
        """The task's state once it waits for an answer and the scheduler has seen its worker exit after parking.

        Airflow 3.3.2's scheduler race: an answer given before the scheduler processes the executor's "success"
        for the parking run resumes the task to ``queued``, and the late event then fails it as "state changed
        externally" (``Executor ... reported that the task instance ... finished with state success, but the task
        instance's state attribute is queued``). That window is the scheduler's loop lag (under a second when idle,
        seconds when loaded): a person rarely answers inside it, a test on CI's loaded machine did twice. The scheduler logs ``TaskInstance Finished: ... task_id=<task>, ...`` once it has
        processed that event; answering after it is what any real answer does.
        """
        state = self.wait_for(task, {"awaiting_input"})
        if state != "awaiting_input":
            return state
        processed = f"TaskInstance Finished: dag_id={DAG_ID}, task_id={task}, run_id={self.run_id},"
        self.airflow.wait_until(
            lambda: processed in self.airflow.log_path.read_text(errors="replace"),
            timeout=WAIT,
            what=f"the scheduler processing {task}'s exit after it parked",
        )
        return state

    def log(self, task: str) -> str:
        """The task's log, every try (for a failure message: why a task failed, read as the UI shows it)."""
        lines = []
        for try_number in range(1, 4):
            path = f"/api/v2/dags/{DAG_ID}/dagRuns/{self.quoted}/taskInstances/{task}/logs/{try_number}"
            try:
                content = self.airflow.api("GET", path + "?full_content=true").get("content") or []
            except Exception as error:  # a try that never ran has no log
                lines.append(f"try {try_number}: {type(error).__name__}")
                break
            lines.append(f"--- try {try_number}")
            entries = content if isinstance(content, list) else [content]
            lines += [str(c.get("event", c)) if isinstance(c, dict) else str(c) for c in entries]
        return "\n".join(lines)[-6000:]

    def answer(self, task: str, option: str) -> dict[str, Any]:
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{self.quoted}/taskInstances/{task}/-1/hitlDetails"
        return dict(self.airflow.api("PATCH", path, {"chosen_options": [option], "params_input": {}}))

    def request(self, task: str) -> dict[str, Any]:
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{self.quoted}/taskInstances/{task}/-1/hitlDetails"
        return dict(self.airflow.api("GET", path))
