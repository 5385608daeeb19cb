"""Check the final state in Blob after the distributed runs: what each DAG's run must have left behind.

Reads the runs written by ``run_dags.py`` and, per run, calls the check registered for its DAG in ``CHECKS``.
A DAG without a registered check fails loudly, so extending ``DISTRIBUTED_DAGS`` means adding its check here.
Reaches Azurite through the same ``AIRFLOW_CONN_CIO_BLOB`` connection the workers used (``devstack env``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_provider_cio.storage.base import ObjectStore

# A check gets the landing container's store and one run (dag_id, run_id, logical_date, state, task_instances)
# and returns the problems it found (empty when the state is as expected) plus what it verified, for the summary.
Check = Callable[[ObjectStore, dict[str, Any]], tuple[list[str], list[str]]]


def check_cio_smoke(store: ObjectStore, run: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``smoke/dt=<date>/hello.json`` exists and was written by this very run."""
    path = f"smoke/dt={run['logical_date']}/hello.json"
    if not store.exists(path):
        return [f"{path} is missing"], []
    body = json.loads(store.read_bytes(path))
    if body.get("run_id") != run["run_id"] or body.get("partition") != run["logical_date"]:
        return [f"{path} was not written by run {run['run_id']}: {body}"], []
    return [], [path]


def check_cio_export(store: ObjectStore, run: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Every dataset of the run's date landed (manifest, rows) and passed its gate, as in the demo."""
    problems: list[str] = []
    verified: list[str] = []
    for dataset in ("people", "deliveries", "metrics", "events"):
        prefix = f"landing/dev/demo/{dataset}/dt={run['logical_date']}"
        if not store.exists(f"{prefix}/_manifest.json"):
            problems.append(f"{prefix} has no manifest")
            continue
        manifest = json.loads(store.read_bytes(f"{prefix}/_manifest.json"))
        parts = [name for name in store.list(prefix + "/") if name.endswith(".parquet")]
        if manifest["rows"] <= 0 or sorted(parts) != sorted(p["path"] for p in manifest["parts"]):
            problems.append(
                f"{prefix}: {manifest['rows']} rows, parts {len(parts)} vs manifest {len(manifest['parts'])}"
            )
        verdict = (
            json.loads(store.read_bytes(f"{prefix}/_quality/result.json"))
            if store.exists(f"{prefix}/_quality/result.json")
            else {}
        )
        if verdict.get("success") is not True:
            problems.append(f"{prefix}: gate verdict {verdict.get('success')}")
        else:
            verified.append(f"{prefix}/_manifest.json")
    return problems, verified


CHECKS: dict[str, Check] = {
    "cio_smoke": check_cio_smoke,
    "cio_export": check_cio_export,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=Path, required=True, help="the JSON written by run_dags.py")
    parser.add_argument("--wasb-conn-id", default="cio_blob")
    parser.add_argument("--container", default="customerio")
    args = parser.parse_args(argv)

    from airflow_provider_cio.hooks.blob import object_store

    store = object_store(args.wasb_conn_id, args.container)
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
        found, ok = check(store, run)
        problems += [f"{run['dag_id']}/{run['logical_date']}: {problem}" for problem in found]
        verified += ok
    for path in verified:
        print(f"  verified {store.url(path)}")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    print(f"state check: {len(verified)} object(s) verified, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
