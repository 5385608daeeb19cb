"""``sync_plan_meta``: mirror-sync an audience with 1% churn to the Meta Graph emulator vs a full replace.

Set-up outside the timed part (parent): the seeded audience of ``bench.sync_harness`` (N members, hashed email +
phone; the next snapshot has 0.5% departed and 0.5% new members), the last-synced state in the sync core's own
format (under the ``meta`` ledger), and a Graph emulator in the parent process whose audience holds the N base
members (reset before every run). Each child loads the snapshot and the state, then runs ``run_sync`` through the
real facebook-business SDK: ``ours`` in ``mirror`` mode (sends the diff), ``full_replace`` in ``replace`` mode
(sends everything through ``usersreplace``). The value is the sync's wall time; ``extra`` has rows_sent, requests
(HTTP calls to Graph), true_churn, the plan's wall time (a dry run) and the child's load time. Target: rows sent
<= 1.1 x true churn.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.common import run_in_child
from bench.sync_harness import AUDIENCE, compare, load_inputs, plan_and_sync, prepare, scale

BENCHMARK = "sync_plan_meta"
TOKEN = "bench-token"
SECRET = "bench-secret"
ACCOUNT = "act_777"


def sync_child(data_dir: str, graph_url: str, mode: str) -> dict[str, Any]:
    """Runs in a fresh process: load snapshot + state, dry-run (plan time), then the real sync."""
    from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination

    members, store, load_seconds = load_inputs(data_dir)
    destination = MetaCustomAudienceDestination(ACCOUNT, TOKEN, SECRET, graph_url=graph_url)
    result = plan_and_sync(destination, store, members, mode)
    return {**result, "load_seconds": round(load_seconds, 3), "requests": destination.requests_attempted}


def run(quick: bool) -> list[dict[str, Any]]:
    from cio_devkit.emulators.meta import MetaGraphEmulator

    n, runs, case = scale(quick)
    with (
        tempfile.TemporaryDirectory(prefix="bench_sync_meta_") as tmp,
        MetaGraphEmulator(access_token=TOKEN, app_secret=SECRET, ad_account_id=ACCOUNT) as emulator,
    ):
        data_dir = Path(tmp)
        audience = emulator.state.create_audience(
            emulator.ad_account_id, {"name": AUDIENCE, "customer_file_source": "USER_PROVIDED_ONLY"}
        )
        facts = prepare(data_dir, n, "meta", audience.id)  # the last sync went to this audience
        base_members: dict[str, dict[str, set[str]]] = {f"x:cust-{i:08d}": {} for i in facts["base_ids"]}

        def sync_once(mode: str) -> dict[str, Any]:
            with emulator.state.lock:  # every run starts from the same audience
                audience.members = {k: {} for k in base_members}
                audience.sessions.clear()
            sample = run_in_child(sync_child, str(data_dir), emulator.url, mode)
            sample["extra"]["final_size"] = len(audience.members)
            return sample

        return compare(BENCHMARK, case, n, facts, runs, sync_once)


if __name__ == "__main__":
    import json
    import sys

    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec))
