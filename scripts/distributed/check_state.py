"""Check the final state after the distributed runs: what each DAG's run must have left behind.

Reads the runs written by ``run_dags.py`` and, per run, calls the check registered for its DAG in ``CHECKS``.
A DAG without a registered check fails loudly, so running another DAG means adding its check here. The pipeline
checks read Blob through ``airflow_provider_cio.pipeline_state`` (what ``make demo`` prints, asserted here) and ask
the Meta and Google emulators, through the same hooks and SDKs the sync tasks use, how many members each audience
holds. Connections come from ``devstack env`` (the ones the workers used); the DAG config from ``CIO_DAG_CONFIG``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from airflow_provider_cio import pipeline_state
from airflow_provider_cio.dag_config import CioDagConfig, load_dag_config
from airflow_provider_cio.devstack.stack import project_root
from airflow_provider_cio.storage.base import ObjectStore

# A check gets the landing container's store, one run (dag_id, run_id, partition_date, run_type, state,
# task_instances, triggered_by) and every run, and returns the problems it found (empty when the state is as
# expected) plus what it verified, for the summary.
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
        listed = sorted(name for name in store.list(part.prefix + "/") if name.endswith(".parquet"))
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
    """How many members the platform emulator says the audience holds, asked the way the sync tasks talk to it."""
    if platform == "meta":
        from airflow_provider_cio.hooks.meta import MetaCustomAudienceHook

        described = (
            MetaCustomAudienceHook(config().connections["meta"]).get_destination().describe(audience_id)
        )
        return int(described["approximate_count_lower_bound"])
    from airflow_provider_cio.hooks.google import GoogleCustomerMatchHook

    return int(
        GoogleCustomerMatchHook(GOOGLE_ADS_CONN_ID).get_destination().describe(audience_id)["size_for_search"]
    )


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
            # Meta counts every member sent; Google merges members who share an identifier (a household's phone),
            # so its list may hold fewer people than rows, never more
            expected = live == size if sync.platform == "meta" else 0 < live <= size
            if int(state["size"]) != size or done.get("received") != done.get("rows_sent") or not expected:
                problems.append(
                    f"{sync.ledger}: snapshot {size}, ledger {state['size']}, sent {done.get('rows_sent')}, "
                    f"acknowledged {done.get('received')}, {sync.platform} emulator holds {live}"
                )
                continue
            synced.append(f"{sync.platform} {live:,}")
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


CHECKS: dict[str, Check] = {
    "cio_smoke": check_cio_smoke,
    "cio_export": check_cio_export,
    "cio_audiences": check_cio_audiences,
    "cio_incrementality": check_cio_incrementality,
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
