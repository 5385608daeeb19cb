"""Audience building: declarative definitions over validated landing partitions and warehouse tables (DuckDB over
Parquet, see ``builder``), global exclusions, deterministic holdout, per-platform hashed identifiers, snapshots in
Blob, and incrementality reports.

Entry points: ``AudienceEngine(inputs).build(definition, as_of=...)`` or ``build_audience``; ``write_snapshot`` /
``snapshot_members`` (sync ``Member``s for one platform); ``snapshot_audiences`` (a whole run: build + snapshot, returns pointers and counts); ``in_holdout`` / ``holdout_sql``; ``measure_outcomes`` +
``lift`` + ``write_incrementality_report``. Submodules import heavy libraries only inside functions.
"""

from airflow_provider_cio.audiences.builder import AudienceBuild, AudienceEngine, build_audience
from airflow_provider_cio.audiences.definitions import (
    REFERENCE_AUDIENCES,
    AudienceDefinition,
    Parameter,
    available_definitions,
    load_definition,
)
from airflow_provider_cio.audiences.errors import (
    AudienceDefinitionError,
    AudienceError,
    AudienceInputError,
    SnapshotNotFound,
)
from airflow_provider_cio.audiences.holdout import HoldoutPolicy, holdout_mask, holdout_sql, in_holdout
from airflow_provider_cio.audiences.incrementality import GroupOutcome, LiftResult, lift, measure_outcomes
from airflow_provider_cio.audiences.incrementality_report import write_incrementality_report
from airflow_provider_cio.audiences.inputs import AudienceInputs, fetch_landing_inputs
from airflow_provider_cio.audiences.run import snapshot_audiences
from airflow_provider_cio.audiences.snapshot import (
    latest_snapshot,
    read_snapshot_members,
    read_snapshot_population,
    read_snapshot_stats,
    snapshot_members,
    snapshot_ref,
    write_snapshot,
)

__all__ = [
    "REFERENCE_AUDIENCES",
    "AudienceBuild",
    "AudienceDefinition",
    "AudienceDefinitionError",
    "AudienceEngine",
    "AudienceError",
    "AudienceInputError",
    "AudienceInputs",
    "GroupOutcome",
    "HoldoutPolicy",
    "LiftResult",
    "Parameter",
    "SnapshotNotFound",
    "available_definitions",
    "build_audience",
    "fetch_landing_inputs",
    "holdout_mask",
    "holdout_sql",
    "in_holdout",
    "latest_snapshot",
    "lift",
    "load_definition",
    "measure_outcomes",
    "read_snapshot_members",
    "read_snapshot_population",
    "read_snapshot_stats",
    "snapshot_audiences",
    "snapshot_members",
    "snapshot_ref",
    "write_incrementality_report",
    "write_snapshot",
]
