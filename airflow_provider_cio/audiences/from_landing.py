"""Audience inputs from the landing zone and the warehouse area of the same Blob container.

* ``people``: full-state sources (App API exports) need only the newest partition; incremental ones (native
  data-out) need every partition up to the as-of date. Either way the builder keeps the latest row per profile.
* ``deliveries`` and ``events``: the partitions within ``lookback_days`` before the as-of time (per day the
  daily partition, or that day's hourly ones while the day is not exported yet).
* warehouse tables (``orders``, ...): every Parquet object under their configured prefix.
Only committed partitions are read (through their manifests, verified part by part).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

from airflow_provider_cio.audiences.errors import AudienceInputError
from airflow_provider_cio.audiences.inputs import AudienceInputs, fetch_landing_inputs
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import list_partitions, read_manifest
from airflow_provider_cio.storage.base import ObjectStore

FULL_STATE_SOURCES = ("customerio_app_api",)


def landing_refs(
    store: ObjectStore, *, root: str, env: str, workspace: str, day: date, lookback_days: int
) -> dict[str, list[PartitionRef]]:
    """Which committed partitions feed a build for ``day`` (inclusive)."""
    first = day - timedelta(days=lookback_days)
    refs: dict[str, list[PartitionRef]] = {}
    people = [r for r in list_partitions(store, root, env, workspace, "people") if r.dt <= day]
    if not people:
        raise AudienceInputError(
            f"no committed people partition on or before {day} under {root}/{env}/{workspace}"
        )
    newest = people[-1]
    refs["people"] = [newest] if read_manifest(store, newest).source in FULL_STATE_SOURCES else people
    for dataset in ("deliveries", "events"):
        refs[dataset] = [
            r for r in list_partitions(store, root, env, workspace, dataset) if first <= r.dt <= day
        ]
    return refs


def warehouse_paths(store: ObjectStore, tables: Mapping[str, str], dest_dir: Path) -> dict[str, list[str]]:
    """Download each warehouse table's Parquet objects (``name -> blob prefix``) into ``dest_dir``."""
    out: dict[str, list[str]] = {}
    for name, prefix in tables.items():
        blobs = [b for b in store.list(prefix.rstrip("/") + "/") if b.endswith(".parquet")]
        if not blobs:
            raise AudienceInputError(f"warehouse table {name!r} has no Parquet objects under {prefix!r}")
        target = dest_dir / "warehouse" / name
        target.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, blob in enumerate(blobs):
            path = target / f"part-{index:05d}.parquet"
            with path.open("wb") as out_file:
                for chunk in store.open_chunks(blob):
                    out_file.write(chunk)
            paths.append(str(path))
        out[name] = paths
    return out


def inputs_from_landing(
    store: ObjectStore,
    *,
    root: str,
    env: str,
    workspace: str,
    day: date,
    lookback_days: int,
    warehouse: Mapping[str, str],
    work_dir: Path,
) -> AudienceInputs:
    refs = landing_refs(store, root=root, env=env, workspace=workspace, day=day, lookback_days=lookback_days)
    local = fetch_landing_inputs(store, refs, work_dir)
    return AudienceInputs(
        people=[str(p) for p in local["people"]],
        deliveries=[str(p) for p in local.get("deliveries", [])],
        events=[str(p) for p in local.get("events", [])],
        warehouse=warehouse_paths(store, warehouse, work_dir),
    )
