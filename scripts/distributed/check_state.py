"""Check the final state after the distributed runs: what each DAG's run must have left behind.

Reads the runs written by ``run_dags.py`` and, per run, calls the check registered for its DAG in ``CHECKS``.
A DAG without a registered check fails loudly, so running another DAG means adding its check here. The pipeline
checks read Blob through ``airflow_provider_cio.pipeline_state`` (what ``make demo`` prints, asserted here) and ask
the Meta and Google emulators, through the same hooks and SDKs the sync tasks use, how many members each audience
holds. Connections come from ``devstack env`` (the ones the workers used); the DAG config from ``CIO_DAG_CONFIG``.
A run that had to fail (``expect``: the blocked case, ``cio_cart_recovery`` under a Customer.io fault) is checked for
what it must not have done as much as for what it did.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from airflow_provider_cio import pipeline_state
from airflow_provider_cio.dag_config import CioDagConfig, load_dag_config
from airflow_provider_cio.operators._partition import covered_period
from airflow_provider_cio.storage.base import ObjectStore
from cio_devkit.devstack.stack import project_root

# A check gets the landing container's store, one run (dag_id, run_id, partition_date, run_type, state,
# logical_date, expect, fault, task_instances, triggered_by, started, ended) and every run, and returns the problems
# it found (empty when the state is as expected) plus what it verified, for the summary.
Check = Callable[[ObjectStore, dict[str, Any], list[dict[str, Any]]], tuple[list[str], list[str]]]
GOOGLE_ADS_CONN_ID = (
    "cio_google_ads"  # the devstack's Google Ads API connection: Data Manager cannot read sizes
)


@cache
def config() -> CioDagConfig:
    return load_dag_config(project_root() / "dags" / "config" / "devstack.yaml")


def check_cio_smoke(
    store: ObjectStore, run: dict[str, Any], _: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """``smoke/dt=<date>/hello.json`` exists and was written by this very run."""
    path = f"smoke/dt={run['partition_date']}/hello.json"
    if not store.exists(path):
        return [f"{path} is missing"], []
    body = json.loads(store.read_bytes(path))
    if body.get("run_id") != run["run_id"] or body.get("partition") != run["partition_date"]:
        return [f"{path} was not written by run {run['run_id']}: {body}"], []
    return [], [store.url(path)]


def check_cio_export(
    store: ObjectStore, run: dict[str, Any], _: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Every dataset of the run's day landed (manifest, rows, exactly the manifest's parts) and passed its gate."""
    problems: list[str] = []
    verified: list[str] = []
    for part in pipeline_state.landed(store, config(), run["partition_date"]):
        manifest = part.manifest
        if not manifest:
            problems.append(f"{part.prefix} has no manifest")
            continue
        # the day's own parts: an hourly cart run of that day lands its parts under the day's prefix, in hr=HH/
        listed = sorted(
            n for n in pipeline_state.partition_objects(store, part.prefix) if n.endswith(".parquet")
        )
        if manifest["rows"] <= 0 or listed != sorted(p["path"] for p in manifest["parts"]):
            problems.append(
                f"{part.prefix}: {manifest['rows']} rows, parts {len(listed)} vs manifest {len(manifest['parts'])}"
            )
        elif part.gate != "passed":
            problems.append(f"{part.prefix}: gate {part.gate}")
        else:
            verified.append(f"{store.url(part.prefix)}: {manifest['rows']:,} rows, gate passed")
    return problems, verified


def live_size(platform: str, audience_id: str) -> int:
    """How many members the platform emulator holds. Meta publishes only a late, rounded estimate
    (``approximate_count_*``, as the real Graph API does), so its exact membership comes from the emulator's admin
    API (every pending edit applied first); Google's list size is asked the way the sync tasks talk to it."""
    if platform == "meta":
        import requests

        from airflow_provider_cio.hooks.meta import MetaCustomAudienceHook

        graph_url = MetaCustomAudienceHook(config().connections["meta"]).get_destination().graph_url
        deadline = time.monotonic() + 30
        while True:  # edits are applied about a second after they were accepted
            audiences = requests.get(f"{graph_url}/_admin/audiences", timeout=10).json()
            found = next(a for a in audiences if str(a["id"]) == audience_id)
            if not found["pending"] or time.monotonic() > deadline:
                return int(found["size"])
            time.sleep(0.5)
    from airflow_provider_cio.hooks.google import GoogleCustomerMatchHook

    return int(
        GoogleCustomerMatchHook(GOOGLE_ADS_CONN_ID).get_destination().describe(audience_id)["size_for_search"]
    )


def google_people(store: ObjectStore, ledger: str) -> int:
    """How many people the Google list must hold for the ledger's members: those Google takes (consent granted,
    usable identifiers, as the destination extracts them), everyone sharing an email, phone or address counted once
    (Customer Match matches people, and the emulator merges such members as Google does)."""
    from airflow_provider_cio.destinations.google.identifiers import extract
    from airflow_provider_cio.hooks.google import GoogleCustomerMatchHook
    from airflow_provider_cio.sync.state import StateStore

    cap = GoogleCustomerMatchHook(config().connections["google"]).get_destination().max_identifiers_per_member
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    firsts = []
    states = StateStore(store, ledger)
    for line in states.iter_lines(states.load()):
        member = line.to_member()
        ids, _ = extract(member, max_identifiers=cap) if member.consent else (None, None)
        if ids is None:
            continue
        keys = [f"email:{e.lower()}" for e in ids.emails] + [f"phone:{p.lower()}" for p in ids.phones]
        if ids.address:
            a = ids.address
            keys.append(
                f"address:{a.given_name.lower()}:{a.family_name.lower()}:{a.region_code}:{a.postal_code}"
            )
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
        firsts.append(keys[0])
    return len({root(key) for key in firsts})


def check_cio_audiences(
    store: ObjectStore, run: dict[str, Any], runs: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Started by cio_export's gates for a day it exported; every audience built and gated; and, for the last
    audience run, synced in full (the ledger holds the snapshot, the platform acknowledged every row sent) and held
    by each platform emulator."""
    exported = {r["partition_date"] for r in runs if r["dag_id"] == "cio_export"}
    sources = run.get("triggered_by") or []
    if (
        run["run_type"] != "asset_triggered"
        or not sources
        or any(not s.startswith("cio_export.gate_") for s in sources)
    ):
        return [f"not started by cio_export's gates: {run['run_type']} from {sources}"], []
    if run["partition_date"] not in exported:
        return [f"built day {run['partition_date']!r}, not one cio_export ran for ({sorted(exported)})"], []
    # the ledgers and the platforms hold what the last audience run synced: an earlier run's syncs were superseded
    last = max((r for r in runs if r["dag_id"] == run["dag_id"]), key=lambda r: r.get("ended") or "")
    problems: list[str] = []
    verified: list[str] = [f"{run['run_id']} started by {', '.join(sources)}"]
    for audience in pipeline_state.audiences(store, config(), run["partition_date"]):
        size = int(audience.stats.get("size", 0))
        if size <= 0 or audience.gate != "passed":
            problems.append(f"{audience.prefix}: {size} members, gate {audience.gate}")
            continue
        if run["run_id"] != last["run_id"]:
            verified.append(
                f"{store.url(audience.prefix)}: {size:,} members, gate passed (synced state: later run)"
            )
            continue
        synced = []
        for sync in audience.syncs:
            state, done = sync.state, sync.done
            if not state or not done or done.get("status") not in ("synced", "already_synced"):
                problems.append(
                    f"{sync.ledger}: no finished sync (state {bool(state)}, report {done.get('status')})"
                )
                continue
            live = live_size(sync.platform, str(state["audience_id"]))
            # Meta counts every member sent; Google merges members who share an identifier (a household's phone)
            people = size if sync.platform == "meta" else google_people(store, sync.ledger)
            if int(state["size"]) != size or done.get("received") != done.get("rows_sent") or live != people:
                problems.append(
                    f"{sync.ledger}: snapshot {size}, ledger {state['size']}, sent {done.get('rows_sent')}, "
                    f"acknowledged {done.get('received')}, {sync.platform} emulator holds {live}, expected {people}"
                )
                continue
            merged = f" ({size - people} merged by shared identifiers)" if people != size else ""
            synced.append(f"{sync.platform} {live:,}{merged}")
        verified.append(
            f"{store.url(audience.prefix)}: {size:,} members, gate passed, in {', '.join(synced)}"
        )
    return problems, verified


def check_cio_incrementality(
    store: ObjectStore, run: dict[str, Any], _: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """The holdout lift report (chart, HTML, summary) exists and compares treated with held-out customers."""
    lift = pipeline_state.latest_lift(store, config())
    if not lift:
        return ["no lift report"], []
    missing = [name for name in ("lift.png", "report.html") if not store.exists(f"{lift['prefix']}/{name}")]
    if missing or lift["treatment"] <= 0 or lift["holdout"] <= 0:
        return [
            f"{lift['prefix']}: missing {missing}, {lift['treatment']} treated / {lift['holdout']} holdout"
        ], []
    return [], [
        f"{lift['url']}: {lift['treatment']:,} treated / {lift['holdout']:,} holdout, "
        f"conversion lift {lift['conversion_lift']:+.4f} (p={lift['p_value']:.3f})"
    ]


def blocked_gate_problems(part: pipeline_state.Partition, column: str) -> list[str]:
    """A gate that saw ``column`` missing from the export must have failed on it, and on it only (no check of the
    hour's volume or freshness: those would mean other data, such as the day's cio_export partition, got in), and
    name it as drift at the source."""
    verdict = part.verdict
    blocking = [
        c for c in verdict.get("checks", []) if not c.get("success") and c.get("severity") == "critical"
    ]
    drift = {(f.get("kind"), f.get("column")) for f in verdict.get("drift", [])}
    problems = []
    if part.gate != "FAILED" or not blocking:
        problems.append(
            f"{part.prefix}: gate {part.gate} with {len(blocking)} blocking check(s), expected FAILED"
        )
    others = [f"{c.get('name')} on {c.get('column')}" for c in blocking if c.get("column") != column]
    if others:
        problems.append(f"{part.prefix}: gate also blocked by {', '.join(others)}, not only by {column}")
    if ("missing_at_source", column) not in drift:
        problems.append(f"{part.prefix}: gate drift {sorted(drift)} lacks missing_at_source:{column}")
    return problems


def check_cio_cart_recovery(
    store: ObjectStore, run: dict[str, Any], _: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """The blocked case (``make demo`` shows it): with the Customer.io export dropping a column, the hour's run
    failed at the deliveries gate, which names the column as missing at the source; the cart audience build and
    every sync were ``upstream_failed``; no hourly snapshot was built and no platform ledger moved after the run
    started. Only runs made under a fault are checked (a clean hourly run would need checks of its own)."""
    fault = run.get("fault") or {}
    column = fault.get("column")
    if run.get("expect") != "failed" or fault.get("kind") != "drop_column" or not column:
        return [f"only the blocked case (a drop_column fault, expected to fail) is checked, not {fault}"], []
    # the run of logical date HH:00 covers the hour before (operators/_partition.py)
    start = covered_period(datetime.fromisoformat(run["logical_date"]), hourly=True)[0]
    hour, day = start.hour, run["partition_date"]
    states = {ti["task_id"]: ti["state"] for ti in run["task_instances"]}
    cart = config().cart_recovery
    datasets, names = cart.datasets, cart.audiences
    problems: list[str] = []
    if run["state"] != "failed":
        problems.append(f"run finished {run['state']}, expected failed")

    # the hour's partitions: landed with the column absent; each gate that saw that failed on it and only on it
    parts = [p for p in pipeline_state.landed(store, config(), day, hour) if p.dataset in datasets]
    lost = {p.dataset for p in parts if column in p.manifest.get("absent_columns", [])}
    if "deliveries" not in lost:
        problems.append(
            f"deliveries {pipeline_state.partition_key(day, hour)}: {column} not absent in the manifest"
        )
    for part in parts:
        if not part.manifest:
            problems.append(f"{part.prefix}: not landed (no manifest)")
            continue
        land, gate = states.get(f"land_{part.dataset}_hourly"), states.get(f"gate_{part.dataset}_hourly")
        expected_gate = "failed" if part.dataset in lost else "success"
        if land != "success" or gate != expected_gate:
            problems.append(f"{part.prefix}: land {land}, gate {gate} (expected success, {expected_gate})")
        gated = [str(part.verdict.get(f"interval_{edge}")) for edge in ("start", "end")]
        if gated != [start.isoformat(), (start + timedelta(hours=1)).isoformat()]:
            problems.append(f"{part.prefix}: gated for the interval {gated}, not the run's hour")
        if part.dataset in lost:
            problems += blocked_gate_problems(part, column)
    # nothing built, nothing synced: the build, each audience's gate and its syncs never ran
    stopped = {
        t: s
        for t, s in states.items()
        if t == "build_cart_audiences" or (t.startswith(("gate_", "sync_")) and not t.endswith("_hourly"))
    }
    syncs = [t for t in stopped if t.startswith("sync_")]
    wrong = {t: s for t, s in stopped.items() if s != "upstream_failed"}
    if wrong or not syncs or "build_cart_audiences" not in stopped:
        problems.append(f"expected build, audience gates and syncs upstream_failed: {stopped}")
    started = datetime.fromisoformat(run["started"])
    ledgers = []
    for audience in pipeline_state.audiences(store, config(), day, hour):
        if audience.name not in names:
            continue
        if pipeline_state.partition_objects(store, audience.prefix):
            problems.append(f"{audience.prefix}: an hourly snapshot was built")
        for sync in audience.syncs:
            synced_at = sync.state.get("synced_at")
            if not synced_at or datetime.fromisoformat(synced_at) >= started:
                problems.append(
                    f"{sync.ledger}: state synced at {synced_at}, the blocked run started {started}"
                )
            else:
                ledgers.append(f"{sync.platform} {sync.state.get('size', 0):,} (synced {synced_at})")
    if problems:
        return problems, []
    gate = next(p for p in parts if p.dataset == "deliveries")
    return [], [
        f"{run['run_id']} failed as expected under {fault}: {store.url(gate.prefix)} gate FAILED on {column} "
        f"(missing_at_source), {', '.join(sorted(lost))} landed without it",
        f"build_cart_audiences and {len(syncs)} sync(s) upstream_failed; no hourly snapshot; "
        f"ledger states last written before the run: {', '.join(ledgers)}",
    ]


CHECKS: dict[str, Check] = {
    "cio_smoke": check_cio_smoke,
    "cio_export": check_cio_export,
    "cio_audiences": check_cio_audiences,
    "cio_incrementality": check_cio_incrementality,
    "cio_cart_recovery": check_cio_cart_recovery,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=Path, required=True, help="the JSON written by run_dags.py")
    args = parser.parse_args(argv)

    from airflow_provider_cio.hooks.blob import object_store

    store = object_store(config().connections["blob"], config().container)
    runs = json.loads(args.runs.read_text())
    problems: list[str] = []
    verified: list[str] = []
    if not runs:
        problems.append("no runs to check")
    for run in runs:
        check = CHECKS.get(run["dag_id"])
        if check is None:
            problems.append(f"no state check for DAG {run['dag_id']}: add one to CHECKS in {__file__}")
            continue
        found, ok = check(store, run, runs)
        problems += [f"{run['dag_id']}/{run['partition_date']}: {problem}" for problem in found]
        verified += [f"{run['dag_id']}/{run['partition_date']}: {item}" for item in ok]
    for item in verified:
        print(f"  verified {item}")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    print(f"state check: {len(verified)} item(s) verified, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
