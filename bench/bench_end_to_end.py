"""``end_to_end``: export -> gate -> audiences -> sync plan over a workspace-sized dataset on this machine.

Set-up outside the timed part (parent): a seeded synthetic workspace (``emulators.synthetic``; full 1M people,
about 10M deliveries, about 1M orders, about 2M events; quick 100k / 1M / 100k / 200k); the deliveries export CSV
(App API shape) written to a temp file, people/events as Parquet files, the orders table put in the warehouse area
of Blob; a private devstack running only Azurite; a Meta Graph emulator in the parent process.
Each stage runs once per sample in a fresh child process, in order (each stage reads what the previous one wrote):
- ``export``: the deliveries CSV streamed through ``iter_export_batches`` into ``PartitionWriter`` (the landing
  path of ``bench_landing``), people and events landed with ``write_table``;
- ``gate``: ``quality.run_gate`` on the landed deliveries partition (DuckDB engine, the reference contract);
- ``audiences``: ``audiences.run.snapshot_audiences`` of the five reference audiences over the landed partitions and
  the warehouse orders (downloaded from Blob as the operator does), both platforms;
- ``sync_plan``: ``run_sync(..., dry_run=True)`` of one audience's snapshot against the Meta emulator.
One record per stage: unit "s" (wall time of the stage in its child), peak RSS of that child.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import record, run_in_child

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


def _store(connection_string: str) -> Any:
    from azure.storage.blob import ContainerClient

    from airflow_provider_cio.storage.azure import AzureObjectStore

    return AzureObjectStore(ContainerClient.from_connection_string(connection_string, CONTAINER))


def _ref(dataset: str) -> Any:
    from airflow_provider_cio.landing.layout import PartitionRef

    return PartitionRef(root="landing", env=ENV, workspace=WORKSPACE, dataset=dataset, dt=DAY)


def export_stage(connection_string: str, data_dir: str) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from airflow_provider_cio.customerio.export_csv import Quarantine, iter_export_batches
    from airflow_provider_cio.datasets import arrow_schema
    from airflow_provider_cio.landing.writer import PartitionWriter, write_table

    store = _store(connection_string)
    root = Path(data_dir)

    def chunks() -> Any:
        with (root / "deliveries.csv").open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                yield chunk

    quarantine = Quarantine()
    with PartitionWriter(store, _ref("deliveries"), arrow_schema("deliveries"), source="bench") as writer:
        for batch in iter_export_batches(chunks(), "deliveries", quarantine=quarantine):
            writer.write_batch(batch)
        deliveries = writer.commit()
    people = write_table(store, _ref("people"), pq.read_table(root / "people.parquet"), source="bench")
    events = write_table(store, _ref("events"), pq.read_table(root / "events.parquet"), source="bench")
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
        )
    return {"audience_sizes": {name: result["size"] for name, result in results.items()}}


def sync_plan_stage(connection_string: str, graph_url: str) -> dict[str, Any]:
    from airflow_provider_cio.audiences.snapshot import snapshot_members, snapshot_ref
    from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
    from airflow_provider_cio.storage import MemoryObjectStore
    from airflow_provider_cio.sync import Guardrails, run_sync

    store = _store(connection_string)
    members = list(snapshot_members(store, snapshot_ref(ENV, WORKSPACE, SYNC_AUDIENCE, DAY), "meta"))
    destination = MetaCustomAudienceDestination(ACCOUNT, TOKEN, SECRET, graph_url=graph_url)
    report = run_sync(
        destination,
        MemoryObjectStore(),  # no ledger yet: the first sync of this audience
        audience_name=SYNC_AUDIENCE,
        members=members,
        mode="mirror",
        guards=Guardrails(min_size=1),
        quality_passed=True,
        dry_run=True,
    )
    return {"members": len(members), "plan_adds": report.plan["adds"], "plan_removes": report.plan["removes"]}


def _generate(data_dir: Path, people: int, orders_per_person: float) -> dict[str, int]:
    """Seeded workspace -> deliveries CSV, people/events Parquet, orders Parquet (for the warehouse area)."""
    import pyarrow.parquet as pq

    from cio_devkit.emulators.synthetic import generate_workspace, iter_deliveries_csv

    ws = generate_workspace(
        people=people,
        seed=SEED,
        start=START,
        days=DAYS,
        events_per_person=2.0,
        orders_per_person=orders_per_person,
    )
    with (data_dir / "deliveries.csv").open("wb") as fh:
        for chunk in iter_deliveries_csv(ws, chunk_rows=250_000):
            fh.write(chunk)
    pq.write_table(ws.people, data_dir / "people.parquet")
    pq.write_table(ws.events, data_dir / "events.parquet")
    pq.write_table(ws.orders, data_dir / "orders.parquet")
    return {
        "people": ws.people.num_rows,
        "deliveries": ws.deliveries.num_rows,
        "orders": ws.orders.num_rows,
        "events": ws.events.num_rows,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    from cio_devkit.devstack.stack import BLOB_CONN_ID, Devstack, default_services
    from cio_devkit.emulators.meta import MetaGraphEmulator

    people = 100_000 if quick else 1_000_000
    runs = 1
    case = "100k_people" if quick else "1M_people"
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench_end_to_end_") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        data_dir.mkdir()
        # the generator lands about 0.43 orders per unit of orders_per_person: 2.3 gives ~1 order per person
        sizes = _generate(data_dir, people, orders_per_person=2.3)
        stack = Devstack(root / "devstack", [s for s in default_services() if s.name == "azurite"], [])
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
                samples: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in stages}
                for _ in range(runs):
                    for name, fn, args in stages:
                        started = time.perf_counter()
                        sample = run_in_child(fn, *args)
                        sample["extra"]["child_wall_seconds"] = round(time.perf_counter() - started, 2)
                        samples[name].append(sample)
        finally:
            stack.down()
    for name, stage_samples in samples.items():
        records.append(
            record(
                BENCHMARK,
                f"{case} {name}",
                "ours",
                baseline=False,
                unit="s",
                samples=stage_samples,
                work=1,
                extra={"stage": name, **sizes},
            )
        )
    return records


if __name__ == "__main__":
    import sys

    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec, default=str))
