"""One scheduled run: build several audiences over one set of inputs and snapshot each to Blob.

This is what an operator calls: it returns pointers and counts only (XCom-sized, PII-free), never members.
The definitions' queries run in the embedded DuckDB unless ``outside`` opens another engine (PostgreSQL, Spark) for
the run's inputs; warehouse relations are then read in place, else first streamed into local Parquet.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.audiences.builder import AudienceEngine
from airflow_provider_cio.audiences.definitions import AudienceDefinition, load_definition
from airflow_provider_cio.audiences.holdout import HoldoutPolicy
from airflow_provider_cio.audiences.inputs import AudienceInputs
from airflow_provider_cio.audiences.snapshot import snapshot_ref, write_snapshot
from airflow_provider_cio.identity import PLATFORMS
from airflow_provider_cio.storage.base import ObjectStore

if TYPE_CHECKING:
    from airflow_provider_cio.audiences.engines.base import OutsideEngine

log = logging.getLogger(__name__)


def partition_date(as_of: datetime) -> date:
    """The day a daily interval ending (exclusively) at ``as_of`` belongs to."""
    return (as_of - timedelta(microseconds=1)).date()


def snapshot_audiences(
    store: ObjectStore,
    *,
    env: str,
    workspace: str,
    inputs: AudienceInputs,
    audiences: Sequence[str | AudienceDefinition],
    as_of: datetime,
    dt: date | None = None,
    hour: int | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    holdout: HoldoutPolicy | None = None,
    platforms: Sequence[str] = PLATFORMS,
    default_country: str | None = None,
    search_dirs: Sequence[str | Path] = (),
    memory_limit: str | None = None,
    outside: Callable[[AudienceInputs], OutsideEngine] | None = None,
    inputs_at: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """Build each audience and write its snapshot; audience name -> {prefix, size, exclusions, generation}.

    ``inputs_at`` (when the run listed its inputs) is kept in the stats: a snapshot already committed for the same
    partition from later inputs (two DAGs write one ``dt=/hr=``: cio_cart_recovery and cio_realtime) is kept, and
    this build's result reports ``superseded_by`` instead of a generation: an older input never wins."""
    from airflow_provider_cio.audiences.warehouse import materialize_relations

    day = dt or partition_date(as_of)
    results: dict[str, dict[str, Any]] = {}
    definitions = [
        item if isinstance(item, AudienceDefinition) else load_definition(item, search_dirs=search_dirs)
        for item in audiences
    ]
    with tempfile.TemporaryDirectory(prefix="cio-warehouse-") as tmp, contextlib.ExitStack() as stack:
        other = stack.enter_context(outside(inputs)) if outside is not None else None
        if other is None:
            inputs = materialize_relations(
                inputs, definitions, as_of=as_of, work_dir=Path(tmp), parameters=parameters
            )
        engine = stack.enter_context(
            AudienceEngine(
                inputs,
                platforms=platforms,
                default_country=default_country,
                memory_limit=memory_limit,
                outside=other,
            )
        )
        for definition in definitions:
            build = engine.build(
                definition, as_of=as_of, parameters=(parameters or {}).get(definition.name), holdout=holdout
            )
            ref = snapshot_ref(env, workspace, definition.name, day, hour)
            if inputs_at is not None:
                newer = _newer_inputs(store, ref, inputs_at)
                if newer is not None:
                    log.warning(
                        "snapshot %s: kept, it was built from inputs listed at %s, after this build's %s",
                        ref.prefix,
                        newer,
                        inputs_at.isoformat(),
                    )
                    results[definition.name] = {
                        "prefix": ref.prefix,
                        "size": build.size,
                        "candidates": build.stats["candidates"],
                        "exclusions": build.stats["exclusions"],
                        "superseded_by": newer,
                        "engine": build.stats["engine"],
                    }
                    continue
                build.stats["inputs_at"] = inputs_at.isoformat()
            manifest = write_snapshot(store, ref, build)
            results[definition.name] = {
                "prefix": ref.prefix,
                "size": build.size,
                "candidates": build.stats["candidates"],
                "exclusions": build.stats["exclusions"],
                "generation": manifest.generation,
                "engine": build.stats["engine"],
            }
    return results


def _newer_inputs(store: ObjectStore, ref: Any, inputs_at: datetime) -> str | None:
    """The committed snapshot's ``inputs_at`` when it is later than ``inputs_at`` (None: none, older or unknown)."""
    from airflow_provider_cio.audiences.errors import SnapshotNotFound
    from airflow_provider_cio.audiences.snapshot import SnapshotCorrupt, read_snapshot_stats

    try:
        stamp = read_snapshot_stats(store, ref).get("inputs_at")
    except (SnapshotNotFound, SnapshotCorrupt):
        return None
    if not stamp or datetime.fromisoformat(stamp) <= inputs_at:
        return None
    return str(stamp)
