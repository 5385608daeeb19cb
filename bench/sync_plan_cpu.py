"""CPU seconds of the sync's planning steps in one process, outside ``bench.run`` (no emulator, no record written):
a quick before/after for a change to ``sync/``, run on two trees with the same data.

* ``first``: a first mirror sync of N members (no stored state), as ``bench_end_to_end``'s ``sync_plan`` stage at
  10M people (692k members): the column snapshot, then ``build_plan`` and the plan's summary.
* ``diff``: the ``sync_plan_*`` benchmarks' seeded 1M audience at 1% churn against its stored state: reading the
  state, the snapshot fingerprinted against it, then ``build_plan``.

``python -m bench.sync_plan_cpu first 692000`` / ``python -m bench.sync_plan_cpu diff 1000000``. Each figure is the
median (min-max) of 5 passes after one warm-up pass; ``time.process_time`` counts every thread of the process.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5


def first(n: int, data_dir: Path) -> dict[str, list[float]]:
    from airflow_provider_cio.sync import SyncMode
    from airflow_provider_cio.sync.plan import build_plan
    from airflow_provider_cio.sync.snapshot import Snapshot
    from bench.sync_harness import read_members, write_members

    path = data_dir / "first.parquet"
    write_members(path, list(range(n)))
    members = read_members(path)
    out: dict[str, list[float]] = {"snapshot": [], "plan": []}
    for run in range(RUNS + 1):
        c0 = time.process_time()
        snapshot = Snapshot.from_members(members)
        c1 = time.process_time()
        plan = build_plan(snapshot, None, [], mode=SyncMode.MIRROR, snapshot_id=snapshot.content_id)
        assert plan.to_summary()["adds"] == len(members)
        c2 = time.process_time()
        if run:
            out["snapshot"].append(c1 - c0)
            out["plan"].append(c2 - c1)
        del plan, snapshot
    return out


def diff(n: int, data_dir: Path) -> dict[str, list[float]]:
    from airflow_provider_cio.sync import SyncMode
    from airflow_provider_cio.sync.plan import build_plan
    from airflow_provider_cio.sync.runner import ledger_prefix
    from airflow_provider_cio.sync.snapshot import Snapshot
    from airflow_provider_cio.sync.state import StateStore
    from bench.sync_harness import AUDIENCE, load_inputs, prepare

    facts = prepare(data_dir, n, "meta", "bench-audience")
    members, store, _ = load_inputs(str(data_dir))
    out: dict[str, list[float]] = {"read_state": [], "snapshot": [], "plan": [], "diff": []}
    for run in range(RUNS + 1):
        c0 = time.process_time()
        states = StateStore(store, ledger_prefix("ledger", "meta", AUDIENCE))
        info = states.load()
        known = states.read_table(info)
        c1 = time.process_time()
        snapshot = Snapshot.from_members(members, known=known)
        c2 = time.process_time()
        plan = build_plan(snapshot, info, known, mode=SyncMode.MIRROR, snapshot_id=snapshot.content_id)
        c3 = time.process_time()
        assert (len(plan.adds), len(plan.removes)) == (facts["adds"], facts["removes"])
        if run:
            out["read_state"].append(c1 - c0)
            out["snapshot"].append(c2 - c1)
            out["plan"].append(c3 - c2)
            out["diff"].append(c3 - c1)
    return out


def main(argv: list[str]) -> None:
    step, n = argv[0], int(argv[1])
    with tempfile.TemporaryDirectory(prefix="sync_plan_cpu_") as tmp:
        figures = (first if step == "first" else diff)(n, Path(tmp))
    for name, values in figures.items():
        print(
            f"{step} {n:,} {name}: {statistics.median(values):.3f} s CPU median "
            f"({min(values):.3f}-{max(values):.3f}, {len(values)} passes)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
