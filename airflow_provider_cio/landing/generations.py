"""Generations of a partition: which objects are alive, which are provably dead, and the gate's release or rollback.

Every write of a partition is a generation: its objects carry its id (``part-<gen>-NNNNN.parquet``,
``_rejected/<gen>-NNNNN.jsonl``) and the id starts with the writer's start time (UTC, to the millisecond), so its age
can be told from its name. An object under the partition is alive while any of these holds:

- the committed manifest lists it (the current generation);
- the manifest's ``previous`` lists it (the generation the current one replaced: kept until the current one passes
  its gate, so a rerun that fails the gate can be rolled back);
- its generation is younger than ``grace``: it may be a writer still uploading (a retry beside a backfill), which
  must find its parts where it put them when it commits.

Everything else is dead: the generation a commit pushes out of ``previous`` (committed once, replaced twice), and
generations older than ``grace`` that never committed (crashed attempts). Stale gate reports (``_quality/``) go
when a new generation commits. A writer whose own age passes ``grace`` before it commits stops instead
(``StaleWriter``): others may have swept its parts.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC, datetime, timedelta

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.manifest import Manifest
from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore, PreconditionFailed

log = logging.getLogger(__name__)

# Longer than any landing takes from its first upload to its commit (a 5M-row export lands in about 20 s; a slow
# listing in minutes); short enough that a crashed attempt's parts do not linger for days.
DEFAULT_GRACE = timedelta(hours=6)
_STAMP = "%Y%m%d%H%M%S"
_OBJECT = re.compile(r"^(?:part-|_rejected/)(?P<gen>[0-9A-Za-z]+)-\d{5}\.(?:parquet|jsonl)$")


def new_generation(now: datetime | None = None) -> str:
    """``YYYYMMDDHHMMSSmmm`` + 6 random hex digits: sorts by start time, unique between concurrent writers."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime(_STAMP)}{moment.microsecond // 1000:03d}{secrets.token_hex(3)}"


def generation_started(generation: str) -> datetime | None:
    """When the writer of ``generation`` started; ``None`` for ids without a time (written before generations had one)."""
    if len(generation) != 23 or not generation[:17].isdigit():
        return None
    try:
        moment = datetime.strptime(generation[:14], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment + timedelta(milliseconds=int(generation[14:17]))


def generation_of(name: str, ref: PartitionRef) -> str | None:
    """The generation an object of the partition belongs to; ``None`` for manifests, reports and unknown names."""
    match = _OBJECT.match(name[len(ref.prefix) + 1 :])
    return match["gen"] if match else None


def referenced(manifest: Manifest) -> set[str]:
    """Objects the manifest keeps alive: its parts and rejected rows, and those of the generation it replaced."""
    keep = {part.path for part in manifest.parts} | set(manifest.rejected_parts)
    previous = manifest.previous_manifest()
    if previous is not None:
        keep |= {part.path for part in previous.parts} | set(previous.rejected_parts)
    return keep


def sweep(
    store: ObjectStore,
    ref: PartitionRef,
    manifest: Manifest,
    *,
    dead: set[str] = frozenset(),  # type: ignore[assignment]
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
    drop_reports: bool = True,
) -> list[str]:
    """Delete the partition's dead objects given its committed ``manifest``; return what was deleted.

    ``dead``: generations known to be dead whatever their age (the one a commit pushed out of ``previous``).
    Best effort: readers follow only the manifest, so a leftover object is wasted space, never wrong data.
    """
    from airflow_provider_cio.landing.writer import belongs_to

    now = now or datetime.now(UTC)
    keep = referenced(manifest) | {ref.manifest_path}
    live = {manifest.generation} | (
        {str(manifest.previous.get("generation"))} if manifest.previous else set()
    )
    deleted = []
    for name in store.list(ref.prefix + "/"):
        if name in keep or not belongs_to(name, ref):
            continue
        generation = generation_of(name, ref)
        if generation is None:
            if name.startswith(ref.quality_prefix + "/") and not drop_reports:
                continue
        elif generation in live:
            continue
        elif generation not in dead:
            started = generation_started(generation)
            if started is not None and now - started < grace:
                continue  # may be a writer still uploading
        store.delete(name)
        deleted.append(name)
    return deleted


def release_previous(
    store: ObjectStore, ref: PartitionRef, generation: str, *, grace: timedelta = DEFAULT_GRACE
) -> str | None:
    """``generation`` passed its gate: forget the generation it replaced and delete its objects.

    Does nothing (returns ``None``) when ``generation`` is no longer the committed one: a later commit keeps it as
    its own ``previous`` until that one passes. The manifest is rewritten only if it has not changed (If-Match).
    Returns the released generation.
    """
    try:
        current = store.read_versioned(ref.manifest_path)
    except BlobNotFound:
        return None
    manifest = Manifest.from_json(current.data)
    if manifest.generation != generation or not manifest.previous:
        return None
    released = str(manifest.previous.get("generation"))
    manifest.previous = None
    try:
        store.write_bytes(ref.manifest_path, manifest.to_json(), if_match=current.etag)
    except PreconditionFailed:
        return None  # a new generation committed meanwhile; it keeps ``generation`` as its previous
    deleted = sweep(store, ref, manifest, dead={released}, grace=grace, drop_reports=False)
    log.info(
        "%s: generation %s passed its gate; released %s (%d objects)",
        ref.label,
        generation,
        released,
        len(deleted),
    )
    return released


def restore_previous(store: ObjectStore, ref: PartitionRef) -> Manifest:
    """Roll the partition back to the generation the current one replaced (a rerun that failed its gate).

    The rolled-back generation becomes the ``previous`` in turn, so the restore itself can be undone. Conditional
    on the manifest not changing meanwhile (``PreconditionFailed`` otherwise: look again and retry).
    """
    current = store.read_versioned(ref.manifest_path)
    manifest = Manifest.from_json(current.data)
    restored = manifest.previous_manifest()
    if restored is None:
        raise LookupError(
            f"{ref.label}: generation {manifest.generation} has no previous generation to restore"
        )
    restored.previous = manifest.as_previous()
    store.write_bytes(ref.manifest_path, restored.to_json(), if_match=current.etag)
    log.warning("%s: restored generation %s over %s", ref.label, restored.generation, manifest.generation)
    return restored
