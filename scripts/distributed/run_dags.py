"""Drive DAG runs on a running Airflow through its REST API and check where their tasks ran.

Used by ``scripts/test_distributed.sh``: wait for the API server and for the DAGs to be parsed, create the pool the
DAGs need, unpause every DAG involved, create the runs asked for, then wait (one bounded deadline for everything)
until they have finished **and** the Asset-scheduled DAGs they feed have run and finished too; then create the
``--then`` runs (they read what those built) and wait for them. Then, if all succeeded, the ``--blocked`` runs: with
a fault armed on the Customer.io emulator (``--fault`` posted to ``--fault-url``, always deleted afterwards) they
must finish ``failed``. Then require every run to end as expected (``success``, ``failed`` for a blocked one), every
task instance that ran to name one of the expected Celery workers as its ``hostname``, and every worker to have run
something. Writes the runs to a JSON file for ``check_state.py``, which checks what each left behind.

How a run is created depends on the DAG's schedule:
- a DAG without a schedule (``cio_smoke``) is triggered once per date;
- a time-scheduled DAG (``cio_export``) gets one backfill from the first to the last date: its runs have the data
  interval a scheduled run of that day has, and a backfill works for days before the DAG's ``start_date`` (the
  script moves ``start_date`` a year ahead so the scheduler creates no runs of its own). A date may carry an hour
  (``2026-11-01T10:00``): the hourly ``cio_cart_recovery`` gets a backfill from that hour to that same hour, which
  creates exactly the one run the scheduler would have made for it (checked: one run, that logical date);
- an Asset-scheduled DAG (``cio_audiences``) is never triggered: it is unpaused and must be started by the Asset
  events of the runs above (``--asset-dags``).

Talks to the public REST API (``/api/v2``) only, never to the metadata DB; and, for the blocked runs, to the
Customer.io emulator's admin endpoint (``/_admin/faults``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from airflow_provider_cio.operators._partition import covered_period, latest_interval_end

FINISHED = {"success", "failed"}
SETTLED = {
    "success",
    "failed",
    "upstream_failed",
    "skipped",
    "removed",
}  # a task instance that will not run again
RAN = {"success", "failed", "up_for_retry", "running"}
OK = {"success", "skipped"}


class DriveError(RuntimeError):
    """The runs could not be driven to a verdict (API down, DAG never parsed, a run that never finished)."""


@dataclass
class Run:
    dag_id: str
    run_id: str
    # the day the run works on: a scheduled DAG's run covers the day (hour) that ended at its logical date
    # (operators/_partition.py), cio_smoke's is its logical date, an asset-triggered run's the day it built
    partition_date: str
    run_type: str = "manual"
    state: str = "queued"
    logical_date: str | None = None  # ISO, as the API gives it (an hourly run's hour is in it)
    expect: str = "success"  # how the run must end: "failed" for a blocked run
    fault: dict[str, Any] | None = None  # the Customer.io emulator fault armed while a blocked run ran
    task_instances: list[dict[str, Any]] = field(default_factory=list)
    triggered_by: list[str] = field(default_factory=list)  # asset-triggered: "dag_id.task_id" of each event
    seconds: float | None = None  # the run's duration once finished
    started: str | None = None  # when it started (ISO): a blocked run must have synced nothing since
    ended: str | None = (
        None  # when it finished (ISO): the last synced audience run defines the platforms' state
    )


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

    # 60 s, not 10: on a loaded 2-core machine one api-server request stalled 13.9 s (a read timeout failed the run)
    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base}{path}", timeout=self.timeout)

    def json(self, path: str) -> dict[str, Any]:
        response = self.get(path)
        if not response.ok:
            raise DriveError(f"GET {path} -> HTTP {response.status_code}: {response.text[:300]}")
        return dict(response.json())

    def send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.request(method, f"{self.base}{path}", json=body, timeout=self.timeout)
        if response.status_code >= 300:
            raise DriveError(f"{method} {path} -> HTTP {response.status_code}: {response.text[:300]}")
        return dict(response.json())

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.json(f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"])

    @contextmanager
    def fault_armed(self, url: str, fault: dict[str, Any]) -> Iterator[None]:
        """``fault`` armed on the emulator at ``url`` (its ``/_admin/faults``) for the block; always cleared after it,
        and then checked to be gone (on an error the clearing is attempted, and a failure to clear only reported)."""
        response = self.session.post(url, json=fault, timeout=self.timeout)
        if response.status_code >= 300:
            raise DriveError(f"arming {fault} at {url} -> HTTP {response.status_code}: {response.text[:300]}")
        print(f"armed fault {json.dumps(fault)} at {url}", flush=True)
        try:
            yield
        except BaseException:
            try:
                self.session.delete(url, timeout=self.timeout)
            except requests.RequestException as exc:
                print(f"run_dags: could not clear the fault at {url}: {exc}", file=sys.stderr)
            raise
        self.session.delete(url, timeout=self.timeout).raise_for_status()
        armed = self.session.get(url, timeout=self.timeout).json().get("armed")
        if armed:
            raise DriveError(f"faults still armed at {url} after clearing: {armed}")
        print(f"cleared the fault at {url}", flush=True)


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


def prepare(
    api: Api, dag_ids: list[str], pools: dict[str, int], timeout: float, watch: Watch
) -> dict[str, Any]:
    """API up, pools created, every DAG parsed and unpaused; returns each DAG's details (its schedule)."""
    wait_for("the API server health endpoint", lambda: api.get("/api/v2/monitor/health").ok, timeout, watch)
    for name, slots in pools.items():
        api.send(
            "POST", "/api/v2/pools", {"name": name, "slots": slots, "description": "make test-distributed"}
        )
    details = {}
    for dag_id in dag_ids:
        parsed = lambda d=dag_id: api.get(f"/api/v2/dags/{d}").ok  # noqa: E731
        wait_for(f"DAG {dag_id} to be parsed", parsed, timeout, watch)
        details[dag_id] = api.send("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    return details


def instant(value: str) -> datetime:
    """A plan's ``YYYY-MM-DD`` (midnight) or ``YYYY-MM-DDTHH:MM`` as an aware UTC datetime (naive means UTC)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_runs(api: Api, plan: dict[str, list[str]], details: dict[str, Any]) -> list[Run]:
    """Trigger the unscheduled DAGs once per date; backfill the scheduled ones from their first to last date."""
    runs = []
    for dag_id, dates in plan.items():
        if details[dag_id].get("timetable_summary") is None:
            for day in dates:
                body = {"dag_run_id": f"distributed__{day}", "logical_date": iso(instant(day)), "conf": {}}
                created = api.send("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
                runs.append(
                    Run(
                        dag_id,
                        created["dag_run_id"],
                        day[:10],
                        "manual",
                        created.get("state", "queued"),
                        logical_date=created.get("logical_date"),
                    )
                )
            continue
        first, last = min(map(instant, dates)), max(map(instant, dates))
        hourly = any("T" in day for day in dates)
        body = {"dag_id": dag_id, "from_date": iso(first), "to_date": iso(last)}
        backfill = api.send("POST", "/api/v2/backfills", body)
        for run in api.dag_runs(dag_id):
            logical = run.get("logical_date")
            if run["run_type"] == "backfill" and logical and first <= instant(logical) <= last:
                runs.append(
                    Run(
                        dag_id,
                        run["dag_run_id"],
                        covered_period(instant(logical), hourly=hourly)[0].date().isoformat(),
                        "backfill",
                        run["state"],
                        logical_date=logical,
                    )
                )
        if not runs or runs[-1].dag_id != dag_id:
            raise DriveError(
                f"backfill {backfill.get('id')} of {dag_id} over {iso(first)}..{iso(last)} created no runs"
            )
    return runs


def create_blocked_runs(
    api: Api, plan: dict[str, list[str]], details: dict[str, Any], fault: dict[str, Any]
) -> list[Run]:
    """The runs that must fail under ``fault``, created like any others; each asked-for date or hour must be
    exactly one run (a backfill over one hour of an hourly DAG makes that hour's run, and only it)."""
    runs = create_runs(api, plan, details)
    for dag_id, dates in plan.items():
        asked = sorted(iso(instant(d)) for d in dates)
        got = sorted(iso(instant(r.logical_date or "")) for r in runs if r.dag_id == dag_id)
        if got != asked:
            raise DriveError(f"{dag_id}: asked for runs at {asked}, created {got}")
    for run in runs:
        run.expect, run.fault = "failed", fault
    return runs


def asset_runs(api: Api, dag_id: str) -> tuple[list[Run], int]:
    """The DAG's asset-triggered runs so far and how many Asset events are queued for it (a run still to come)."""
    runs = [
        Run(
            dag_id,
            run["dag_run_id"],
            "",
            "asset_triggered",
            run["state"],
            logical_date=run.get("logical_date"),
            seconds=run.get("duration"),
            started=run.get("start_date"),
            ended=run.get("end_date"),
        )
        for run in api.dag_runs(dag_id)
        if run["run_type"] == "asset_triggered"
    ]
    response = api.get(f"/api/v2/dags/{dag_id}/assets/queuedEvents")
    queued = int(response.json().get("total_entries", 0)) if response.ok else 0
    return runs, queued


def wait_finished(
    api: Api, runs: list[Run], asset_dags: list[str], timeout: float, watch: Watch, interval: float = 2.0
) -> list[Run]:
    """Until every run has finished, then until each Asset-scheduled DAG has run and finished with nothing queued.

    Returns the asset-triggered runs. If a created run failed, its downstream never comes: stop waiting then.
    """
    deadline = time.monotonic() + timeout
    followers: list[Run] = []
    waiting_for: list[str] = []
    while time.monotonic() < deadline:
        time.sleep(interval)
        watch.check()
        for run in runs:
            if run.state not in FINISHED:
                response = api.get(f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}")
                if response.ok:
                    body = response.json()
                    run.state, run.seconds, run.started, run.ended = (
                        body["state"],
                        body.get("duration"),
                        body.get("start_date"),
                        body.get("end_date"),
                    )
        waiting_for = [
            f"{run.dag_id}/{run.run_id} ({run.state})" for run in runs if run.state not in FINISHED
        ]
        if waiting_for:
            continue
        if any(run.state != "success" for run in runs):
            return followers
        followers = []
        for dag_id in asset_dags:
            found, queued = asset_runs(api, dag_id)
            followers += found
            if not found:
                waiting_for.append(f"{dag_id}: no asset-triggered run yet ({queued} Asset event(s) queued)")
            elif queued:
                waiting_for.append(f"{dag_id}: {queued} Asset event(s) queued for another run")
            waiting_for += [f"{r.dag_id}/{r.run_id} ({r.state})" for r in found if r.state not in FINISHED]
        if not waiting_for:
            return followers
    unfinished = [run for run in runs + followers if run.state not in FINISHED]
    collect_task_instances(api, unfinished)
    details = [
        f"  {run.dag_id}/{run.run_id}: "
        + ", ".join(f"{ti['task_id']}={ti['state']}" for ti in run.task_instances if ti["state"] not in OK)
        for run in unfinished
    ]
    raise DriveError(f"not finished after {timeout:.0f} s: {'; '.join(waiting_for)}\n" + "\n".join(details))


def wait_settled(api: Api, runs: list[Run], timeout: float, watch: Watch, interval: float = 2.0) -> None:
    """Until every task instance of the runs has settled. A run fails as soon as its leaves are ``upstream_failed``,
    while a branch that does not lead to the failure (the other hourly land and gate) may still be running."""
    deadline = time.monotonic() + timeout
    while True:
        collect_task_instances(api, runs)
        busy = [
            f"{run.dag_id}/{run.run_id}/{ti['task_id']} ({ti['state']})"
            for run in runs
            for ti in run.task_instances
            if ti["state"] not in SETTLED
        ]
        if not busy:
            return
        if time.monotonic() >= deadline:
            raise DriveError(f"task instances still unfinished after their run ended: {', '.join(busy)}")
        watch.check()
        time.sleep(interval)


def collect_task_instances(api: Api, runs: list[Run]) -> None:
    for run in runs:
        response = api.get(f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances?limit=1000")
        if response.ok:
            run.task_instances = [
                {key: ti.get(key) for key in ("task_id", "map_index", "state", "hostname", "try_number")}
                for ti in response.json()["task_instances"]
            ]


def collect_triggers(api: Api, runs: list[Run]) -> None:
    """For asset-triggered runs: which tasks emitted the events, and the day they built (the gates' interval end)."""
    for run in runs:
        if run.run_type != "asset_triggered":
            continue
        events = api.json(f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/upstreamAssetEvents")[
            "asset_events"
        ]
        run.triggered_by = sorted({f"{e.get('source_dag_id')}.{e.get('source_task_id')}" for e in events})
        end = latest_interval_end(e.get("extra") for e in events)
        run.partition_date = covered_period(end)[0].date().isoformat() if end else ""


def placement_problems(runs: list[Run], workers: set[str]) -> list[str]:
    """Every task instance that ran must name one of our Celery workers, and every worker must have run one."""
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
    idle = workers - {ti["hostname"] for ti in ran}
    if ran and idle:
        problems.append(f"worker(s) {', '.join(sorted(idle))} ran no task instance")
    return problems


def parse_plan(spec: str) -> dict[str, list[str]]:
    """``"cio_smoke:2026-11-01,2026-11-02 cio_cart_recovery:2026-11-01T10:00"`` -> {dag_id: [dates]}: each a day or
    an hour of one (``YYYY-MM-DDTHH:MM``, UTC), validated."""
    plan: dict[str, list[str]] = {}
    for item in spec.split():
        dag_id, _, dates = item.partition(":")
        if not dates:
            raise DriveError(f"run spec {item!r} has no dates: use DAG:YYYY-MM-DD[THH:MM][,...]")
        for value in filter(None, dates.split(",")):
            try:
                instant(value)
            except ValueError:
                raise DriveError(f"run spec {item!r}: {value!r} is not YYYY-MM-DD[THH:MM]") from None
            plan.setdefault(dag_id, []).append(value)
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--api", required=True, help="base URL of the API server, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--runs", required=True, help="space-separated DAG:DATE[,DATE...] (see the module doc)"
    )
    parser.add_argument(
        "--asset-dags", default="", help="space-separated Asset-scheduled DAGs the runs must start"
    )
    parser.add_argument("--then", default="", help="like --runs, created once those have succeeded")
    parser.add_argument(
        "--blocked",
        default="",
        help="like --runs, created last (once all the above succeeded) with --fault armed: they must fail",
    )
    parser.add_argument("--fault-url", default="", help="the Customer.io emulator's /_admin/faults URL")
    parser.add_argument("--fault", default="", help="the fault (JSON) armed while the --blocked runs run")
    parser.add_argument("--pool", action="append", default=[], metavar="NAME:SLOTS", help="create this pool")
    parser.add_argument("--workers", required=True, help="comma-separated expected worker hostnames")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for all runs to finish")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds for API and parsing")
    parser.add_argument("--out", type=Path, required=True, help="write the runs here (JSON)")
    parser.add_argument("--watch", default="", help="space-separated name:pid of the deployment's processes")
    parser.add_argument("--task-logs", default="", help="the task log folder, named when a run fails")
    args = parser.parse_args(argv)

    api = Api(args.api)
    watch = Watch(args.watch)
    workers = {w for w in args.workers.split(",") if w}
    asset_dags = args.asset_dags.split()
    pools = {name: int(slots) for name, _, slots in (p.partition(":") for p in args.pool)}
    runs: list[Run] = []
    started = time.monotonic()
    try:
        plan, later, blocked = parse_plan(args.runs), parse_plan(args.then), parse_plan(args.blocked)
        if blocked and not (args.fault_url and args.fault):
            raise DriveError("--blocked needs --fault-url and --fault")
        details = prepare(api, [*asset_dags, *plan, *later, *blocked], pools, args.startup_timeout, watch)
        deadline = time.monotonic() + args.timeout
        runs = create_runs(api, plan, details)
        print(f"created {len(runs)} run(s): " + ", ".join(f"{r.dag_id}/{r.run_id}" for r in runs), flush=True)
        runs += wait_finished(api, runs, asset_dags, max(deadline - time.monotonic(), 1.0), watch)
        if later and all(run.state == "success" for run in runs):
            # they read what the runs above built (the lift report reads the audience snapshots)
            then = create_runs(api, later, details)
            print("then created: " + ", ".join(f"{r.dag_id}/{r.run_id}" for r in then), flush=True)
            runs += then
            wait_finished(api, then, [], max(deadline - time.monotonic(), 1.0), watch)
        if blocked and all(run.state == "success" for run in runs):
            fault = json.loads(args.fault)
            with api.fault_armed(args.fault_url, fault):
                failing = create_blocked_runs(api, blocked, details, fault)
                print("blocked created: " + ", ".join(f"{r.dag_id}/{r.run_id}" for r in failing), flush=True)
                runs += failing
                wait_finished(api, failing, [], max(deadline - time.monotonic(), 1.0), watch)
                wait_settled(api, failing, max(deadline - time.monotonic(), 1.0), watch)
        collect_task_instances(api, runs)
        collect_triggers(api, runs)
    except (DriveError, requests.RequestException) as exc:
        print(f"run_dags: {exc}", file=sys.stderr)
        if args.task_logs:
            print(f"run_dags: task logs: {args.task_logs}/dag_id=<dag>/run_id=<run>/", file=sys.stderr)
        args.out.write_text(json.dumps([asdict(run) for run in runs], indent=2))
        return 1
    args.out.write_text(json.dumps([asdict(run) for run in runs], indent=2))
    print(f"all runs finished {time.monotonic() - started:.0f} s after the API answered")

    placement: Counter[str] = Counter()
    for run in runs:
        hosts = Counter(ti["hostname"] for ti in run.task_instances if ti["state"] in RAN)
        source = f" <- {', '.join(run.triggered_by)}" if run.triggered_by else ""
        source += " (expected to fail)" if run.expect != "success" else ""
        print(
            f"  {run.dag_id:<18} {run.run_type:<15} {run.partition_date:<10} {run.state:<7} {run.seconds or 0:4.0f} s "
            f"{len(run.task_instances)} task(s) on {dict(sorted(hosts.items()))}{source}"
        )
        placement.update(hosts)
    print("task instances per worker: " + ", ".join(f"{host}={n}" for host, n in sorted(placement.items())))
    problems = []
    for run in runs:
        if run.state != run.expect:
            bad = [f"{ti['task_id']}={ti['state']}" for ti in run.task_instances if ti["state"] not in OK]
            problems.append(
                f"{run.dag_id}/{run.run_id} finished {run.state}, expected {run.expect}: "
                f"{', '.join(bad) or 'no failed tasks'}"
            )
    problems += placement_problems(runs, workers)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems and args.task_logs:
        print(f"task logs: {args.task_logs}/dag_id=<dag>/run_id=<run>/", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
