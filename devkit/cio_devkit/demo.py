"""``make demo``: the main job on the embedded default stack, ending with a printed summary.

1. the devstack (Azurite + Customer.io, Meta and Google emulators; reused when running);
2. ``airflow dags test cio_export <date + 1 day>``: land people, deliveries, metrics, events of ``<date>`` from the
   Customer.io App API emulator into Azurite and gate each partition (a run covers the day that ended when it
   fired: the run of logical date 2026-11-02 lands ``dt=2026-11-01``, as the scheduled run would; docs/backfills.md);
3. ``airflow dags test cio_audiences <date + 1 day>``: build the reference audiences as of the end of ``<date>``,
   gate them, sync to Meta and Google;
4. unless ``--no-blocked``: a seeded bad upstream (the Customer.io export drops ``customer_id``) in the hourly
   ``cio_cart_recovery`` run that covers ``<date>`` 10:00-11:00 (logical date 11:00): its gate fails and the cart
   audience build and syncs do not run;
5. a summary: partitions, gate verdicts, audience sizes, rows sent per destination, links to the reports
   (read-only, short-lived) and to the runs' pages in the Airflow UI: the demo and ``make ui`` share one
   ``AIRFLOW_HOME`` (``.devstack/airflow``), so ``make ui`` shows these runs;
6. unless ``--no-realtime``: emulated Customer.io posts cart adds as webhooks, the receiver lands them and one
   ``cio_realtime`` run puts the people in the cart audience on Meta and Google (docs/realtime.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from cio_devkit.airflow_env import airflow_cli, airflow_env, devstack_home, migrate
from cio_devkit.devstack import Devstack, DevstackError
from cio_devkit.devstack.stack import project_root

BLOCKED_HOUR = 10  # the hour (UTC) of --date the blocked cart run covers
UI_URL = "http://127.0.0.1:8080"  # make ui's default address
LINK_MINUTES = 60  # how long the printed report links stay valid


def run_date(day: str) -> str:
    """The logical date of the daily run that covers ``day``: the next day's midnight, when that run fires."""
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--date",
        default="2026-11-01",
        help="the day to land and build (YYYY-MM-DD); the runs' logical date is the next day",
    )
    parser.add_argument("--no-blocked", action="store_true", help="skip the blocked (bad upstream) case")
    parser.add_argument(
        "--no-realtime",
        action="store_true",
        help="skip the webhooks-to-cart-audience step (docs/realtime.md)",
    )
    args = parser.parse_args(argv)

    stack = Devstack.default()
    try:
        stack.up()
    except DevstackError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    root = project_root()
    env = airflow_env(devstack_home(stack.state_dir), root / "dags", stack.environment())
    env["CIO_DAG_CONFIG"] = str(root / "dags" / "config" / "devstack.yaml")
    print("== airflow db migrate", flush=True)
    migrate(env)
    for dag_id in ("cio_export", "cio_audiences", "cio_incrementality"):
        if not _dags_test(env, dag_id, run_date(args.date)):
            return 1
    blocked: dict[str, str] | None = None
    if not args.no_blocked:
        blocked = _blocked_case(stack, env, f"{args.date}T{BLOCKED_HOUR + 1:02d}:00:00+00:00")
        if blocked is None:
            return 1
    _summary(stack, args.date, blocked)
    _links(stack, env, args.date)
    if not args.no_realtime and not _realtime_case(stack, env):
        return 1
    return 0


def _dags_test(env: dict[str, str], dag_id: str, date: str, *, expect_failure: bool = False) -> bool:
    print(f"== airflow dags test {dag_id} {date}", flush=True)
    result = airflow_cli(env, "dags", "test", dag_id, date, check=False, capture=True)
    if (result.returncode == 0) == (not expect_failure):
        return True
    print(result.stdout[-6000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
    print(
        f"demo: {dag_id} {'succeeded but was expected to fail' if expect_failure else 'failed'}",
        file=sys.stderr,
    )
    return False


def _blocked_case(stack: Devstack, env: dict[str, str], hour: str) -> dict[str, str] | None:
    """Customer.io's deliveries export loses ``customer_id``: the hourly gate must stop the cart audience sync."""
    port = stack.read_state()["services"]["customerio"]["port"]
    fault = json.dumps({"kind": "drop_column", "column": "customer_id", "count": 1000}).encode()
    clear = urllib.request.Request(f"http://127.0.0.1:{port}/_admin/faults", method="DELETE")
    arm = urllib.request.Request(f"http://127.0.0.1:{port}/_admin/faults", data=fault, method="POST")
    urllib.request.urlopen(arm, timeout=10).close()
    try:
        if not _dags_test(env, "cio_cart_recovery", hour, expect_failure=True):
            return None
    finally:
        urllib.request.urlopen(clear, timeout=10).close()
    runs = _cli_json(env, "dags", "list-runs", "cio_cart_recovery", "-o", "json")
    run_id = sorted(runs, key=lambda r: r.get("run_after") or "")[-1]["run_id"]
    states = _cli_json(env, "tasks", "states-for-dag-run", "cio_cart_recovery", run_id, "-o", "json")
    return {t["task_id"]: t["state"] for t in states}


def _cli_json(env: dict[str, str], *args: str) -> Any:
    """JSON output of an ``airflow`` CLI call (warnings printed before it are skipped)."""
    lines = airflow_cli(env, *args, capture=True).stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(("[{", "[]", "{")))
    return json.loads("\n".join(lines[first:]))


def _service(stack: Devstack) -> Any:
    from azure.storage.blob import BlobServiceClient

    from cio_devkit.devstack.stack import blob_connection_string

    port = stack.read_state()["services"]["azurite"]["port"]
    return BlobServiceClient.from_connection_string(blob_connection_string(port))


def _store(stack: Devstack) -> Any:
    from airflow_provider_cio.storage.azure import AzureObjectStore

    return AzureObjectStore(_service(stack).get_container_client("customerio"), create_container=False)


def _summary(stack: Devstack, date: str, blocked: dict[str, str] | None) -> None:
    import datetime as dt

    from airflow_provider_cio import pipeline_state
    from airflow_provider_cio.dag_config import load_dag_config
    from airflow_provider_cio.landing.layout import LANDING_ROOT, PartitionRef, ledger_root
    from airflow_provider_cio.sync.naming import platform_audience_name

    store = _store(stack)
    cfg = load_dag_config(project_root() / "dags" / "config" / "devstack.yaml")
    print("\n== demo summary")
    services = ", ".join(f"{name} :{info.get('port')}" for name, info in stack.status().items())
    print(f"devstack        : {services}")
    print(f"landed ({date}):")
    for part in pipeline_state.landed(store, cfg, date):
        manifest = part.manifest
        print(
            f"  {part.dataset:<11} {manifest.get('rows', 0):>7,} rows  {len(manifest.get('parts', []))} part(s)"
            f"  {manifest.get('rejected_rows', 0)} rejected  gate {part.gate}"
        )
    platform_name = platform_audience_name(cfg.env, cfg.workspace, "<audience>")
    print(f"audiences (members after exclusions; rows sent per destination, into {platform_name}):")
    for audience in pipeline_state.audiences(store, cfg, date):
        sent = [
            f"{sync.platform} {sync.done.get('rows_sent', 0):,} sent/{sync.state.get('size', 0):,} in audience"
            for sync in audience.syncs
        ]
        print(
            f"  {audience.name:<31} {audience.stats.get('size', 0):>6,}  gate {audience.gate:<7} "
            + "; ".join(sent)
        )
    print(
        f"sync ledgers    : {ledger_root(cfg.env, cfg.workspace)}/<platform>/<platform name, path-safe>/ in container "
        f"{store.container_name}"
    )
    lift = pipeline_state.latest_lift(store, cfg)
    if lift:
        print(
            f"holdout lift    : conversion lift {lift['conversion_lift']:+.4f}, p={lift['p_value']:.3f}, "
            f"{lift['treatment']:,} treated / {lift['holdout']:,} holdout"
        )
    if blocked is not None:
        print("blocked case (Customer.io export lost customer_id; cio_cart_recovery for one hour):")
        for task, task_state in sorted(blocked.items()):
            print(f"  {task:<48} {task_state}")
        gated = PartitionRef(
            LANDING_ROOT, cfg.env, cfg.workspace, "deliveries", dt.date.fromisoformat(date), BLOCKED_HOUR
        )
        blocked_gate = pipeline_state.read_json(store, gated.quality_result_path)
        for check in blocked_gate.get("checks", []):
            if not check.get("success") and check.get("severity") == "critical":
                print(
                    f"  blocked by: {check.get('name')} on {check.get('column')} (observed {check.get('observed')})"
                )


def _links(stack: Devstack, env: dict[str, str], date: str, ui_url: str = UI_URL) -> None:
    """Links a browser opens: one report of each kind (a read-only SAS URL, printed for the user who ran the demo,
    valid ``LINK_MINUTES``), the command that lists them all, and the runs' pages in ``make ui``."""
    from airflow_provider_cio.dag_config import load_dag_config
    from airflow_provider_cio.links.sas import read_only_url
    from airflow_provider_cio.reports.listing import day_reports

    python = Path(sys.executable).parent / "python"
    service = _service(stack)
    cfg = load_dag_config(project_root() / "dags" / "config" / "devstack.yaml")
    print(f"reports (read-only links, valid {LINK_MINUTES} minutes; one of each kind):")
    shown: set[str] = set()
    for report in day_reports(_store(stack), cfg, date):
        if report.kind not in shown:
            shown.add(report.kind)
            url = read_only_url(service, cfg.container, report.path, minutes=LINK_MINUTES)
            print(f"  {report.kind:<17} {report.subject:<31} {url}")
    print(f"  all of them     : {python} -m airflow_provider_cio.reports --date {date} --devstack")
    print(f"runs in the Airflow UI (start it with `make ui`; login admin, the password it prints; {ui_url}):")
    for dag_id in ("cio_export", "cio_audiences", "cio_incrementality", "cio_cart_recovery"):
        runs = _cli_json(env, "dags", "list-runs", dag_id, "-o", "json")
        if runs:
            run_id = sorted(runs, key=lambda r: r.get("run_after") or "")[-1]["run_id"]
            print(f"  {dag_id:<19} {ui_url}/dags/{dag_id}/runs/{urllib.parse.quote(run_id, safe='')}")
    print(
        "  (a task's Details tab has buttons for its reports: Gate report, Audience stats, Match-rate trend, Lift report)"
    )
    print(f"stop the stack  : {python} -m cio_devkit.devstack down")


def _realtime_case(stack: Devstack, env: dict[str, str]) -> bool:
    """Minutes, not hours (docs/realtime.md): emulated Customer.io posts cart adds as webhooks to the receiver, one
    ``cio_realtime`` run puts the people in the cart audience on Meta and Google. In a workspace of its own (the
    day above is in the past; carts are now), with in-process Meta and Google emulators whose membership is read."""
    import tempfile
    import time

    from cio_devkit.devstack.realtime import CART_AUDIENCE, RealtimeStack, run_realtime

    print("== webhooks -> cio_realtime -> cart audience (a workspace of its own)", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="cio-demo-realtime-") as tmp,
        RealtimeStack(Path(tmp), devstack=stack, flush_interval=1.0) as realtime,
    ):
        before = realtime.membership()
        people = realtime.cart_people(3)
        realtime.post_carts(people)
        status = realtime.wait_landed()
        # the demo's metadata DB (already migrated); the connections are this case's, from its environment
        code, output = run_realtime(realtime, Path(env["AIRFLOW_HOME"]), migrate_db=False)
        if code != 0:
            print(output[-6000:], file=sys.stderr)
            print("demo: cio_realtime failed", file=sys.stderr)
            return False
        for _ in range(60):  # the platforms apply accepted adds a second or so later
            after = realtime.membership()
            if after["meta"][CART_AUDIENCE] == after["google"][CART_AUDIENCE] == len(people):
                break
            time.sleep(0.5)
    print(
        f"  receiver: {status['accepted']} webhook events acknowledged and landed as micro-batches "
        f"({len(people)} cart adds + their cart emails)"
    )
    for platform in ("meta", "google"):
        print(
            f"  {platform:<6} {CART_AUDIENCE}: {before[platform][CART_AUDIENCE]} -> "
            f"{after[platform][CART_AUDIENCE]} members (cio/dev/{realtime.workspace}/{CART_AUDIENCE})"
        )
    return after["meta"][CART_AUDIENCE] == after["google"][CART_AUDIENCE] == len(people)


if __name__ == "__main__":
    raise SystemExit(main())
