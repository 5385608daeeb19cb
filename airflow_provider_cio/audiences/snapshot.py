"""Audience snapshots in Blob: ``audiences/{env}/{workspace}/{audience}/dt=YYYY-MM-DD/``.

Layout of one snapshot, same commit protocol as a landing partition (``landing.manifest.Manifest``):
``members-{generation}-NNNNN.parquet`` (customer_id, tier/score if the definition has them, one list column of
hashed identifiers per platform and kind, e.g. ``meta_email``, ``google_phone``; no raw PII), then ``_stats.json``
(sizes, coverage, exclusions, drop reasons, parameters, definition version, as_of, the generation it describes),
then ``_manifest.json`` written LAST: the commit point. Part names carry a fresh generation id, so a rerun never
overwrites the parts the current manifest lists (readers see the old snapshot or the new one, never a mix); after
the commit, objects the new manifest does not reference are deleted. The ITT population of a holdout (customer_id,
in_holdout) rides along as ``population-{generation}.parquet``, referenced from the stats with its checksum.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from airflow_provider_cio.audiences.errors import SnapshotNotFound
from airflow_provider_cio.errors import CioError, ErrorClass
from airflow_provider_cio.landing.layout import AUDIENCES_ROOT, SNAPSHOT_STATS_NAME, PartitionRef
from airflow_provider_cio.landing.manifest import Manifest, PartFile
from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_cio.audiences.builder import AudienceBuild
    from airflow_provider_cio.audiences.member_table import MemberTable

log = logging.getLogger(__name__)

SNAPSHOT_SCHEMA_VERSION: Final = "1"
DEFAULT_PART_ROWS: Final = 250_000  # ~250k members x ~14 hash lists: parts of tens of MB


class SnapshotCorrupt(CioError, RuntimeError):
    """Stats and manifest describe different generations (a crashed write) or a part does not verify."""

    error_class = ErrorClass.UPSTREAM_DATA


def snapshot_ref(env: str, workspace: str, audience: str, dt: date, hour: int | None = None) -> PartitionRef:
    """Daily snapshots at ``dt=...``; hourly ones (cart recovery) at ``dt=.../hr=HH``."""
    return PartitionRef(root=AUDIENCES_ROOT, env=env, workspace=workspace, dataset=audience, dt=dt, hr=hour)


def _parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=64 * 1024)
    return buffer.getvalue()


def write_snapshot(
    store: ObjectStore, ref: PartitionRef, build: AudienceBuild, *, part_rows: int = DEFAULT_PART_ROWS
) -> Manifest:
    """Write members, stats, then the manifest; replace any earlier snapshot of the same ``ref`` atomically."""
    generation = uuid.uuid4().hex[:12]
    members = build.members
    written: list[str] = []
    parts: list[PartFile] = []
    try:
        offset = 0
        while True:
            piece = members.slice(offset, part_rows)
            data = _parquet_bytes(piece)
            path = f"{ref.prefix}/members-{generation}-{len(parts):05d}.parquet"
            store.write_bytes(path, data)
            written.append(path)
            parts.append(PartFile(path, piece.num_rows, len(data), hashlib.sha256(data).hexdigest()))
            offset += part_rows
            if offset >= members.num_rows:
                break
        stats: dict[str, Any] = dict(build.stats)
        stats["generation"] = generation
        stats["population"] = None
        if build.population is not None:
            data = _parquet_bytes(build.population)
            path = f"{ref.prefix}/population-{generation}.parquet"
            store.write_bytes(path, data)
            written.append(path)
            held = sum(1 for v in build.population.column("in_holdout").to_pylist() if v)
            stats["population"] = {
                "path": path,
                "rows": build.population.num_rows,
                "holdout": held,
                "treatment": build.population.num_rows - held,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        store.write_bytes(ref.stats_path, json.dumps(stats, indent=2, sort_keys=True).encode())
        manifest = Manifest(
            dataset=ref.dataset,
            partition=ref.prefix,
            rows=members.num_rows,
            bytes=sum(p.bytes for p in parts),
            parts=parts,
            schema=[{"name": f.name, "type": str(f.type)} for f in members.schema],
            schema_version=SNAPSHOT_SCHEMA_VERSION,
            source="audience_builder",
            produced_at=datetime.now(UTC).isoformat(timespec="seconds"),
            contract_version=f"{stats.get('definition_version')}+{stats.get('definition_fingerprint')}",
            source_ids=[str(stats.get("as_of", ""))],
            generation=generation,
        )
        store.write_bytes(ref.manifest_path, manifest.to_json())
    except BaseException:
        for path in written:
            store.delete(path)
        raise
    keep = set(written) | {ref.manifest_path, ref.stats_path}
    for name in store.list(ref.prefix + "/"):
        if name not in keep and not name[len(ref.prefix) + 1 :].startswith("hr="):
            store.delete(name)
    log.info(
        "snapshot %s: %d members in %d parts (generation %s)",
        ref.prefix,
        members.num_rows,
        len(parts),
        generation,
    )
    return manifest


def _manifest(store: ObjectStore, ref: PartitionRef) -> Manifest:
    from airflow_provider_cio.landing.reader import PartitionNotFound, read_manifest

    try:
        return read_manifest(store, ref)
    except PartitionNotFound:
        raise SnapshotNotFound(f"no committed audience snapshot at {ref.prefix}") from None


def read_snapshot_stats(store: ObjectStore, ref: PartitionRef) -> dict[str, Any]:
    """The committed snapshot's stats; ``SnapshotCorrupt`` if they belong to another generation."""
    manifest = _manifest(store, ref)
    try:
        stats: dict[str, Any] = json.loads(store.read_bytes(ref.stats_path))
    except BlobNotFound:
        raise SnapshotCorrupt(f"snapshot {ref.prefix} has a manifest but no {SNAPSHOT_STATS_NAME}") from None
    if stats.get("generation") != manifest.generation:
        raise SnapshotCorrupt(
            f"snapshot {ref.prefix}: {SNAPSHOT_STATS_NAME} is of generation {stats.get('generation')} but the manifest "
            f"commits {manifest.generation} (a write crashed between the two; rerun the build)"
        )
    return stats


def read_snapshot_members(
    store: ObjectStore, ref: PartitionRef, columns: list[str] | None = None
) -> pa.Table:
    """All members of the committed snapshot (parts verified against the manifest)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from airflow_provider_cio.landing.reader import fetch_parts

    manifest = _manifest(store, ref)
    with tempfile.TemporaryDirectory(prefix="cio-snapshot-") as tmp:
        paths = fetch_parts(store, manifest, Path(tmp))
        return pa.concat_tables([pq.read_table(p, columns=columns) for p in paths])


def read_snapshot_population(store: ObjectStore, ref: PartitionRef) -> pa.Table | None:
    """The holdout ITT population (customer_id, in_holdout) of the snapshot, or None if no holdout applied."""
    import pyarrow.parquet as pq

    info = read_snapshot_stats(store, ref).get("population")
    if not info:
        return None
    data = store.read_bytes(info["path"])
    if hashlib.sha256(data).hexdigest() != info["sha256"]:
        raise SnapshotCorrupt(f"snapshot {ref.prefix}: population file does not match its checksum")
    return pq.read_table(io.BytesIO(data))


def members_from_table(table: pa.Table, platform: str) -> MemberTable:
    """Sync members for one platform: identifiers keyed by kind (``meta_email`` -> ``email``), kept in columns.
    It iterates as ``Member``s; the sync core diffs it in Arrow and builds ``Member``s only for what it sends."""
    from airflow_provider_cio.audiences.member_table import MemberTable

    prefix = f"{platform}_"
    columns = [name for name in table.column_names if name.startswith(prefix)]
    if not columns:
        raise ValueError(f"snapshot has no identifier columns for platform {platform!r}")
    return MemberTable(table, {name[len(prefix) :]: name for name in columns})


def snapshot_members(store: ObjectStore, ref: PartitionRef, platform: str) -> MemberTable:
    """The committed snapshot's members as the sync core takes them, for ``platform`` (meta / google)."""
    prefix = f"{platform}_"
    columns = ["customer_id"] + [
        name for name in _manifest(store, ref).column_names if name.startswith(prefix)
    ]
    return members_from_table(read_snapshot_members(store, ref, columns=columns), platform)


def latest_snapshot(store: ObjectStore, env: str, workspace: str, audience: str) -> PartitionRef | None:
    """The newest committed snapshot of an audience, or None."""
    from airflow_provider_cio.landing.reader import list_partitions

    refs = list_partitions(store, AUDIENCES_ROOT, env, workspace, audience)
    return refs[-1] if refs else None
