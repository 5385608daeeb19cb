"""``end_to_end``: export -> gate -> audiences -> sync plan over a workspace-sized dataset on this machine.

Sizes: 1M and 10M people (quick: 100k); ``BENCH_E2E_PEOPLE`` (comma-separated) picks others. Set-up outside the timed
part (parent): a seeded synthetic workspace (``emulators.synthetic``, generated in shards of 1M people so the parent
holds one shard at a time; per 1M people about 10M deliveries, 0.4M orders and 2.5M events); the deliveries export
CSV (App API shape) written to a file, people/events/orders as Parquet files (``BENCH_E2E_DATA`` keeps them for later
runs), the orders table put in the warehouse area of Blob; a private devstack running only Azurite; a Meta Graph
emulator in the parent process.
Each run lands the workspace on a fresh Azurite and runs every stage once, each in a fresh child process, in order
(each stage reads what the previous one wrote); 5 runs per size (quick: 1; ``BENCH_E2E_RUNS`` sets it), sizes
alternating:
- ``export``: the deliveries CSV, as the finished download's spool, through ``iter_export_batches`` into
  ``PartitionWriter`` (the landing path of ``bench_landing``), people and events landed batch by batch;
- ``gate``: ``quality.run_gate`` on the landed deliveries partition (DuckDB engine, the reference contract);
- ``audiences``: ``audiences.run.snapshot_audiences`` of the five reference audiences over the landed partitions and
  the warehouse orders (downloaded from Blob as the operator does), both platforms; ``reactivation_tiers`` with a
  30-day lapse (``AUDIENCE_PARAMETERS``);
- ``sync_plan``: ``run_sync(..., SyncRequest(dry_run=True))`` of one audience's snapshot against the Meta emulator.
Every run is checked (``check_stages``): a stage that did less than its record claims fails the benchmark.
One record per stage: unit "s" (wall time of the stage in its child, median over the runs), peak RSS of that child;
the first stage's record of each size carries the note with the issue's targets (all stages < 6 min and every stage < 8 GiB at 10M,
10M/1M time < 12).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import check_setup, record, run_in_child

BENCHMARK = "end_to_end"
CONTAINER = "bench-e2e"
ENV = "bench"
WORKSPACE = "ws1"
SEED = 20260601
START = date(2026, 4, 1)
DAYS = 60
AS_OF = datetime(START.year, START.month, START.day, tzinfo=UTC) + timedelta(days=DAYS)
DAY = (AS_OF - timedelta(days=1)).date()  # the partition holding the export
ORDERS_PREFIX = f"warehouse/{ENV}/orders"
SYNC_AUDIENCE = "engaged_clickers_14d"
TOKEN, SECRET, ACCOUNT = "bench-token", "bench-secret", "act_777"
REFERENCE_AUDIENCES = [
    "engaged_clickers_14d",
    "high_intent_unresponsive_carts",
    "reactivation_tiers",
    "suppress_recent_purchasers",
    "viewed_twice_no_purchase",
]
# The workspace holds 60 days of orders: with the default 90-day lapse nobody has lapsed and reactivation_tiers
# selected no one, so its timing measured a query that stopped early. A 30-day lapse (a fast repurchase cycle: meal
# kits, coffee, pet food) makes the customers whose last order was in the first half lapsed, so every audience's
# query does its full work.
AUDIENCE_PARAMETERS = {"reactivation_tiers": {"lapsed_days": 30}}


def _store(connection_string: str) -> Any:
    from azure.storage.blob import ContainerClient

    from airflow_provider_cio.storage.azure import AzureObjectStore

    return AzureObjectStore(ContainerClient.from_connection_string(connection_string, CONTAINER))


def _ref(dataset: str) -> Any:
    from airflow_provider_cio.landing.layout import PartitionRef

    return PartitionRef(root="landing", env=ENV, workspace=WORKSPACE, dataset=dataset, dt=DAY)


def _land_parquet(store: Any, path: Path, dataset: str) -> Any:
    """Land a Parquet file batch by batch, as an export stream is landed (memory: a few batches, not the file)."""
    import pyarrow.parquet as pq

    from airflow_provider_cio.landing.writer import PartitionWriter

    source = pq.ParquetFile(path)
    with PartitionWriter(store, _ref(dataset), source.schema_arrow, source="bench") as writer:
        for batch in source.iter_batches(batch_size=256 * 1024):
            writer.write_batch(batch)
        return writer.commit()


def export_stage(connection_string: str, data_dir: str) -> dict[str, Any]:
    from airflow_provider_cio.customerio.export_csv import Quarantine, iter_export_batches
    from airflow_provider_cio.customerio.spool import SpooledBytes
    from airflow_provider_cio.datasets import arrow_schema
    from airflow_provider_cio.landing.writer import PartitionWriter

    store = _store(connection_string)
    root = Path(data_dir)
    quarantine = Quarantine()
    # the CSV file stands in for a finished download's spool, as ``CustomerIoClient.download_export`` hands it over
    with (
        SpooledBytes((root / "deliveries.csv").open("rb")) as download,
        PartitionWriter(store, _ref("deliveries"), arrow_schema("deliveries"), source="bench") as writer,
    ):
        for batch in iter_export_batches(download, "deliveries", quarantine=quarantine):
            writer.write_batch(batch)
        deliveries = writer.commit()
    people, events = (_land_parquet(store, root / f"{name}.parquet", name) for name in ("people", "events"))
    return {
        "deliveries_rows": deliveries.rows,
        "people_rows": people.rows,
        "events_rows": events.rows,
        "quarantined": quarantine.count,
    }


def gate_stage(connection_string: str) -> dict[str, Any]:
    from airflow_provider_cio.quality.gate import run_gate

    result = run_gate(
        _store(connection_string),
        _ref("deliveries"),
        interval_start=AS_OF - timedelta(days=1),
        interval_end=AS_OF,
    )
    return {
        "gate_rows": result.rows,
        "gate_success": result.success,
        "blocking_failures": [c.name for c in result.blocking_failures],
    }


def audiences_stage(connection_string: str) -> dict[str, Any]:
    from airflow_provider_cio.audiences.from_landing import inputs_from_landing
    from airflow_provider_cio.audiences.run import snapshot_audiences

    store = _store(connection_string)
    with tempfile.TemporaryDirectory(prefix="bench-e2e-audiences-") as tmp:
        inputs = inputs_from_landing(
            store,
            root="landing",
            env=ENV,
            workspace=WORKSPACE,
            day=DAY,
            lookback_days=30,
            warehouse={"orders": ORDERS_PREFIX},
            work_dir=Path(tmp),
        )
        results = snapshot_audiences(
            store,
            env=ENV,
            workspace=WORKSPACE,
            inputs=inputs,
            audiences=REFERENCE_AUDIENCES,
            as_of=AS_OF,
            dt=DAY,
            platforms=("meta", "google"),
            default_country="US",
            parameters=AUDIENCE_PARAMETERS,
        )
    return {"audience_sizes": {name: result["size"] for name, result in results.items()}}


def sync_plan_stage(connection_string: str, graph_url: str) -> dict[str, Any]:
    from airflow_provider_cio.audiences.snapshot import snapshot_members, snapshot_ref
    from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
    from airflow_provider_cio.storage import MemoryObjectStore
    from airflow_provider_cio.sync import Guardrails, SyncMode, SyncRequest, run_sync

    store = _store(connection_string)
    # the column table, as the sync operator passes it (a list of Member objects is not what production builds)
    members = snapshot_members(store, snapshot_ref(ENV, WORKSPACE, SYNC_AUDIENCE, DAY), "meta")
    destination = MetaCustomAudienceDestination(ACCOUNT, TOKEN, SECRET, graph_url=graph_url)
    report = run_sync(
        destination,
        MemoryObjectStore(),  # no ledger yet: the first sync of this audience
        SyncRequest(
            audience_name=SYNC_AUDIENCE,
            members=members,
            mode=SyncMode.MIRROR,
            guards=Guardrails(min_size=1),
            quality_passed=True,
            dry_run=True,
        ),
    )
    return {"members": len(members), "plan_adds": report.plan["adds"], "plan_removes": report.plan["removes"]}


SHARD_PEOPLE = 1_000_000
# id columns made unique across shards (shard 0 keeps the generator's own ids, so 1M is the same data at any size)
_SHARD_IDS = {
    "people": ("customer_id", "internal_customer_id", "cio_id"),
    "deliveries": ("delivery_id", "customer_id", "internal_customer_id"),
    "events": ("event_id", "customer_id", "cart_id"),
    "orders": ("customer_id", "order_id"),
}


def _shard_ids(table: Any, dataset: str, shard: int) -> Any:
    """Prefix the id columns of shard ``shard`` (> 0) so shards never collide; hex ids stay hex."""
    import pyarrow.compute as pc

    if shard == 0:
        return table
    for column in _SHARD_IDS[dataset]:
        prefix = f"{shard:02x}" if column in ("internal_customer_id", "cio_id") else f"s{shard:02d}"
        index = table.schema.get_field_index(column)
        table = table.set_column(
            index, table.schema.field(index), pc.utf8_replace_slice(table[column], 0, 0, prefix)
        )
    return table


def _generate(data_dir: Path, people: int, orders_per_person: float) -> dict[str, int]:
    """Seeded workspace -> deliveries CSV, people/events Parquet, orders Parquet (for the warehouse area).

    Generated in shards of ``SHARD_PEOPLE`` people (seed and workspace id per shard, ids prefixed per shard) so the
    parent's set-up holds one shard at a time: 10M people in one piece is about 100M deliveries in memory.
    """
    import pyarrow.parquet as pq

    from cio_devkit.emulators.synthetic import generate_workspace, iter_deliveries_csv

    sizes = {"people": 0, "deliveries": 0, "orders": 0, "events": 0}
    writers: dict[str, Any] = {}
    try:
        with (data_dir / "deliveries.csv").open("wb") as fh:
            for shard in range(-(-people // SHARD_PEOPLE)):
                ws = generate_workspace(
                    people=min(SHARD_PEOPLE, people - shard * SHARD_PEOPLE),
                    seed=SEED + shard,
                    start=START,
                    days=DAYS,
                    events_per_person=2.0,
                    orders_per_person=orders_per_person,
                    **({"workspace_id": 111528 + shard} if shard else {}),
                )
                for i, chunk in enumerate(
                    iter_deliveries_csv(
                        deliveries=_shard_ids(ws.deliveries, "deliveries", shard), chunk_rows=250_000
                    )
                ):
                    if i or not shard:  # one header, at the top
                        fh.write(chunk)
                for name in ("people", "events", "orders"):
                    table = _shard_ids(getattr(ws, name), name, shard)
                    if name not in writers:
                        writers[name] = pq.ParquetWriter(data_dir / f"{name}.parquet", table.schema)
                    writers[name].write_table(table)
                    sizes[name] += table.num_rows
                sizes["deliveries"] += ws.deliveries.num_rows
                del ws
    finally:
        for writer in writers.values():
            writer.close()
    return sizes


def _sizes_from_env(quick: bool) -> list[int]:
    """People per case: ``BENCH_E2E_PEOPLE`` (comma-separated, e.g. ``1000000,10000000``) or the defaults."""
    raw = os.environ.get("BENCH_E2E_PEOPLE", "")
    if raw.strip():
        return [int(float(v)) for v in raw.split(",") if v.strip()]
    return [100_000] if quick else [1_000_000, 10_000_000]


def _case_name(people: int) -> str:
    return f"{people // 1_000_000}M_people" if people % 1_000_000 == 0 else f"{people // 1000}k_people"


def _workspace_files(tmp: Path, people: int) -> tuple[Path, dict[str, int]]:
    """The generated files for ``people``: in ``tmp`` (deleted after the benchmark), or kept under ``BENCH_E2E_DATA`` and
    reused by later runs (a 10M workspace takes longer to generate than to run; the files are the same each time:
    the generator is seeded). A kept directory counts only once ``sizes.json`` is written, after the last file."""
    cache = os.environ.get("BENCH_E2E_DATA", "").strip()
    data_dir = Path(cache) / _case_name(people) if cache else tmp / "data"
    marker = data_dir / "sizes.json"
    if marker.exists():
        return data_dir, {k: int(v) for k, v in json.loads(marker.read_text()).items()}
    data_dir.mkdir(parents=True, exist_ok=True)
    # the generator lands about 0.43 orders per unit of orders_per_person: 2.3 gives ~1 order per person
    sizes = _generate(data_dir, people, orders_per_person=2.3)
    marker.write_text(json.dumps(sizes))
    return data_dir, sizes


def _run_case(people: int, data_dir: Path) -> dict[str, dict[str, Any]]:
    """Every stage once over the workspace in ``data_dir``, each in its own child, on a fresh Azurite."""
    from cio_devkit.devstack.stack import BLOB_CONN_ID, Devstack, default_services
    from cio_devkit.emulators.meta import MetaGraphEmulator

    with tempfile.TemporaryDirectory(prefix="bench_end_to_end_") as tmp:
        stack = Devstack(Path(tmp) / "devstack", [s for s in default_services() if s.name == "azurite"], [])
        try:
            connection_string = stack.up()[BLOB_CONN_ID]["extra"]["connection_string"]
            _store(connection_string).write_bytes(
                f"{ORDERS_PREFIX}/orders.parquet", (data_dir / "orders.parquet").read_bytes()
            )
            with MetaGraphEmulator(access_token=TOKEN, app_secret=SECRET, ad_account_id=ACCOUNT) as graph:
                stages: list[tuple[str, Any, tuple[Any, ...]]] = [
                    ("export", export_stage, (connection_string, str(data_dir))),
                    ("gate", gate_stage, (connection_string,)),
                    ("audiences", audiences_stage, (connection_string,)),
                    ("sync_plan", sync_plan_stage, (connection_string, graph.url)),
                ]
                samples: dict[str, dict[str, Any]] = {}
                for name, fn, args in stages:
                    started = time.perf_counter()
                    sample = run_in_child(fn, *args)
                    sample["extra"]["child_wall_seconds"] = round(time.perf_counter() - started, 2)
                    samples[name] = sample
                    print(
                        f"   {_case_name(people)} {name}: {sample['seconds']:.1f} s, "
                        f"peak {sample['peak_rss_mb']:.0f} MB",
                        flush=True,
                    )
        finally:
            stack.down()
    return samples


def check_stages(case: str, sizes: dict[str, int], stages: dict[str, dict[str, Any]]) -> None:
    """Each stage did the work its record claims: the export landed every generated row and quarantined none, the
    gate passed (a failed gate stops a real run before the audiences), every audience selected someone (a query that
    selects no one stops early: the time of reactivation_tiers was such a time until its lapse was set), and the
    first sync's plan adds the whole snapshot."""
    export, gate = stages["export"]["extra"], stages["gate"]["extra"]
    problems = [
        f"landed {export.get(f'{name}_rows')} {name} rows of {sizes[name]}"
        for name in ("deliveries", "people", "events")
        if export.get(f"{name}_rows") != sizes[name]
    ]
    if export.get("quarantined"):
        problems.append(f"quarantined {export['quarantined']} rows of the generated export")
    if not gate.get("gate_success"):
        problems.append(f"the gate failed ({', '.join(gate.get('blocking_failures') or [])})")
    audiences = stages["audiences"]["extra"]["audience_sizes"]
    empty = sorted(name for name, size in audiences.items() if not size)
    if empty:
        problems.append(f"no member in {', '.join(empty)}")
    plan = stages["sync_plan"]["extra"]
    if (plan["plan_adds"], plan["plan_removes"]) != (plan["members"], 0):
        problems.append(
            f"the first sync plans {plan['plan_adds']} adds / {plan['plan_removes']} removes for {plan['members']} "
            "members"
        )
    check_setup(f"end_to_end {case}", problems)


def _note(
    people: int, totals: dict[int, float], peaks: dict[int, float], load: str, spreads: dict[int, list[float]]
) -> str:
    """The issue's targets (for 10M): all stages < 6 min, every stage < 8 GiB, and 10M / 1M time < 12."""
    target = people >= 10_000_000
    parts = [
        f"all stages {totals[people]:.1f} s in total"
        + (f" (target < 360 s: {'met' if totals[people] < 360 else 'NOT met'})" if target else "")
        + f", largest stage peak RSS {peaks[people]:,.0f} MB"
        + (f" (target < 8,192 MB: {'met' if peaks[people] < 8192 else 'NOT met'})" if target else "")
    ]
    small = min(totals)
    if people != small:
        ratio = totals[people] / totals[small]
        parts.append(
            f"time {_case_name(people)} / {_case_name(small)} = {ratio:.2f}x for {people / small:.0f}x the data"
            + (f" (target < 12: {'met' if ratio < 12 else 'NOT met'})" if target else "")
        )
    parts.append(
        f"{len(spreads[people])} run(s) per size, sizes alternating; all stages together per run "
        f"{min(spreads[people]):.1f}-{max(spreads[people]):.1f} s (the median is the figure above); load averages "
        f"(1 / 5 / 15 min) at the end of each run: {load}"
    )
    return "; ".join(parts)


def _load() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _runs(quick: bool) -> int:
    """Runs per size: ``BENCH_E2E_RUNS``, else 5 (quick: 1). Each run lands the workspace on a fresh Azurite."""
    raw = os.environ.get("BENCH_E2E_RUNS", "").strip()
    return max(1, int(raw)) if raw else (1 if quick else 5)


def run(quick: bool) -> list[dict[str, Any]]:
    import statistics

    records: list[dict[str, Any]] = []
    people_sizes = _sizes_from_env(quick)
    samples: dict[int, dict[str, list[dict[str, Any]]]] = {p: {} for p in people_sizes}
    run_totals: dict[int, list[float]] = {p: [] for p in people_sizes}
    loads: dict[int, list[str]] = {p: [] for p in people_sizes}
    with tempfile.TemporaryDirectory(prefix="bench_end_to_end_data_") as tmp:
        # generated once per size (kept under BENCH_E2E_DATA when set), landed afresh by every run
        workspaces = {p: _workspace_files(Path(tmp) / _case_name(p), p) for p in people_sizes}
        for _ in range(_runs(quick)):
            for people in people_sizes:  # sizes alternate, so machine noise hits both alike
                run_samples = _run_case(people, workspaces[people][0])
                check_stages(_case_name(people), workspaces[people][1], run_samples)
                for name, sample in run_samples.items():
                    samples[people].setdefault(name, []).append(sample)
                run_totals[people].append(sum(sample["seconds"] for sample in run_samples.values()))
                loads[people].append(_load())
    # rounded as recorded (total_seconds_all_stages), so the note's ratio is the one RESULTS.md computes from them
    totals = {p: round(statistics.median(t), 1) for p, t in run_totals.items()}
    peaks = {p: max(s["peak_rss_mb"] for stage in samples[p].values() for s in stage) for p in people_sizes}
    for people in people_sizes:
        case = _case_name(people)
        sizes = workspaces[people][1]
        first = len(records)
        for name, stage_samples in samples[people].items():
            records.append(
                record(
                    BENCHMARK,
                    f"{case} {name}",
                    "ours",
                    baseline=False,
                    unit="s",
                    samples=stage_samples,
                    work=1,
                    extra={
                        "stage": name,
                        **sizes,
                        "total_seconds_all_stages": totals[people],
                        "total_seconds_per_run": [round(t, 1) for t in run_totals[people]],
                    },
                )
            )
        records[first]["extra"]["note"] = _note(people, totals, peaks, "; ".join(loads[people]), run_totals)
    return records


if __name__ == "__main__":
    import sys

    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec, default=str))
