"""One incrementality measurement: holdout vs treatment over a window, from snapshots already in Blob.

The population is the union of the program's audiences' eligible customers (each snapshot's ``population`` file:
customer id + holdout flag, written before the holdout was removed) in the latest snapshot on or before the window
end; the holdout split is a salted hash of the customer id, so it is the same whichever snapshot is used.
Outcomes are the warehouse ``orders`` in the window, from the same sources the audiences read: Parquet under a Blob
prefix, or a ``WarehouseRelation`` read through its SQL connection (only customer_id, amount and ordered_at, only
the window's rows, streamed into local Parquet), checked against the same column types, failing with the same
errors. Returns pointers and the headline numbers (PII-free).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_provider_cio.audiences.errors import AudienceDefinitionError, AudienceInputError
from airflow_provider_cio.audiences.warehouse import WarehouseRelation
from airflow_provider_cio.storage.base import ObjectStore


def orders_source(
    store: ObjectStore,
    source: str | WarehouseRelation,
    *,
    window: tuple[datetime, datetime],
    work_dir: Path,
) -> list[str]:
    """Local Parquet file(s) of the orders the window can see: a Blob prefix's objects, or the relation's rows with
    ``ordered_at`` in the window's whole days before its end (columns and types checked before the read)."""
    import math
    from dataclasses import replace

    from airflow_provider_cio.audiences.from_landing import warehouse_paths
    from airflow_provider_cio.audiences.incrementality import ORDERS_COLUMNS
    from airflow_provider_cio.audiences.warehouse import read_relation

    if isinstance(source, str):
        return warehouse_paths(store, {"orders": source}, work_dir)["orders"]
    start, end = window
    days = max(1, math.ceil((end - start).total_seconds() / 86_400))
    bounded = replace(source, time_column="ordered_at", lookback_days=days)
    dest = work_dir / "warehouse" / "orders.parquet"
    return [str(read_relation("orders", bounded, ORDERS_COLUMNS, as_of=end, dest=dest))]


def run_incrementality(
    store: ObjectStore,
    *,
    env: str,
    workspace: str,
    program: str,
    audiences: Sequence[str],
    window: tuple[datetime, datetime],
    warehouse: Mapping[str, str | WarehouseRelation],
    work_dir: Path,
) -> dict[str, Any]:
    import pyarrow as pa

    from airflow_provider_cio.audiences.incrementality import lift, measure_outcomes
    from airflow_provider_cio.audiences.incrementality_report import write_incrementality_report
    from airflow_provider_cio.audiences.snapshot import read_snapshot_population
    from airflow_provider_cio.landing.layout import AUDIENCES_ROOT
    from airflow_provider_cio.landing.reader import list_partitions

    if "orders" not in warehouse:
        raise AudienceDefinitionError("warehouse table 'orders' was not given to the lift report")
    start, end = window
    populations = []
    used = []
    for audience in audiences:
        refs = [
            r for r in list_partitions(store, AUDIENCES_ROOT, env, workspace, audience) if r.dt <= end.date()
        ]
        if not refs:
            continue
        table = read_snapshot_population(store, refs[-1])
        if table is not None:
            populations.append(table.select(["customer_id", "in_holdout"]))
            used.append(refs[-1].prefix)
    if not populations:
        raise AudienceInputError(
            f"no snapshot with a holdout population for {', '.join(audiences)} on or before {end.date()}"
        )
    population = pa.concat_tables(populations)
    orders = orders_source(store, warehouse["orders"], window=window, work_dir=work_dir)
    treatment, holdout = measure_outcomes(population, orders, start=start, end=end)
    result = lift(treatment, holdout)
    paths = write_incrementality_report(
        store, result, env=env, workspace=workspace, program=program, dt=start.date(), window=window
    )
    return {
        "program": program,
        "window": [start.isoformat(), end.isoformat()],
        "snapshots": used,
        "treatment_users": treatment.users,
        "holdout_users": holdout.users,
        "conversion_lift": result.conversion_lift.estimate,
        "conversion_p_value": result.conversion_p_value,
        "revenue_lift": result.revenue_lift.estimate,
        "report": store.url(paths.html),
        "chart": store.url(paths.chart),
    }
