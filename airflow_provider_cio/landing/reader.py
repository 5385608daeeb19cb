"""Reading committed partitions: the manifest decides what exists and which parts belong to it.

A reader sees one complete generation: it reads the manifest, then the parts it lists, each checked against its
size and SHA-256. Writers keep the generation they replace until the new one passes its gate, so a reader is only
overtaken by two commits during its read; then a part it wants is gone, and the reader reads the manifest again
and starts over on the generation committed now (``fetch_committed``). The same part missing under an unchanged
manifest is corruption (``PartitionCorrupt``).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_cio.errors import CioError, ErrorClass
from airflow_provider_cio.landing.layout import MANIFEST_NAME, PartitionRef
from airflow_provider_cio.landing.manifest import Manifest
from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


class PartitionNotFound(CioError, LookupError):
    """No manifest: the partition does not exist for readers (never landed, or a write has not committed)."""

    error_class = ErrorClass.UPSTREAM_DATA


class PartitionCorrupt(CioError, RuntimeError):
    """The manifest disagrees with the files under the partition."""

    error_class = ErrorClass.UPSTREAM_DATA


def read_manifest(store: ObjectStore, ref: PartitionRef) -> Manifest:
    try:
        data = store.read_bytes(ref.manifest_path)
    except BlobNotFound:
        raise PartitionNotFound(
            f"partition {ref.prefix} has no _manifest.json: it was never landed or its write did not commit"
        ) from None
    try:
        return Manifest.from_json(data)
    except (ValueError, TypeError) as exc:
        raise PartitionCorrupt(f"partition {ref.prefix}: unreadable manifest ({exc})") from None


def fetch_parts(store: ObjectStore, manifest: Manifest, dest_dir: Path) -> list[Path]:
    """Download the manifest's parts into ``dest_dir``, verifying each one's size and SHA-256."""
    paths: list[Path] = []
    for index, part in enumerate(manifest.parts):
        target = dest_dir / f"part-{index:05d}.parquet"
        digest = hashlib.sha256()
        size = 0
        try:
            with target.open("wb") as out:
                for chunk in store.open_chunks(part.path):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except BlobNotFound:
            raise PartitionCorrupt(
                f"partition {manifest.partition}: manifest lists {part.path.rsplit('/', 1)[-1]} but it is missing"
            ) from None
        if size != part.bytes or digest.hexdigest() != part.sha256:
            raise PartitionCorrupt(
                f"partition {manifest.partition}: {part.path.rsplit('/', 1)[-1]} does not match its manifest "
                f"(bytes {size} vs {part.bytes}, sha256 {digest.hexdigest()[:12]} vs {part.sha256[:12]})"
            )
        paths.append(target)
    return paths


READ_ATTEMPTS = 4


def fetch_committed(store: ObjectStore, ref: PartitionRef, dest_dir: Path) -> tuple[Manifest, list[Path]]:
    """Download one complete committed generation of ``ref``; start over when a commit overtook the read."""
    manifest = read_manifest(store, ref)
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            return manifest, fetch_parts(store, manifest, dest_dir)
        except PartitionCorrupt:
            latest = read_manifest(store, ref)
            if latest.generation == manifest.generation or attempt == READ_ATTEMPTS:
                raise
            log.info(
                "%s: generation %s was replaced by %s while being read; reading that one",
                ref.label,
                manifest.generation,
                latest.generation,
            )
            manifest = latest
    raise AssertionError("unreachable")  # pragma: no cover


def read_table(store: ObjectStore, ref: PartitionRef, columns: list[str] | None = None) -> pa.Table:
    """The whole partition as one Arrow table (verified against its manifest)."""
    return read_generation(store, ref, columns)[1]


def read_generation(
    store: ObjectStore, ref: PartitionRef, columns: list[str] | None = None
) -> tuple[str | None, pa.Table]:
    """The partition's committed generation and its rows: a writer that merges into them passes the generation as
    ``PartitionWriter(replaces=...)``, so a merge another writer overtook fails instead of dropping its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="cio-read-") as tmp:
        manifest, paths = fetch_committed(store, ref, Path(tmp))
        if not paths:
            from airflow_provider_cio.datasets import arrow_schema

            schema = arrow_schema(ref.dataset)
            empty = schema.empty_table()
            return manifest.generation, (empty.select(columns) if columns else empty)
        tables = [pq.read_table(path, columns=columns) for path in paths]
        return manifest.generation, pa.concat_tables(tables)


def list_partitions(
    store: ObjectStore, root: str, env: str, workspace: str, dataset: str
) -> list[PartitionRef]:
    """Committed partitions of a dataset (those with a manifest), oldest first."""
    prefix = f"{root}/{env}/{workspace}/{dataset}/"
    refs = [PartitionRef.parse(name) for name in store.list(prefix) if name.endswith(f"/{MANIFEST_NAME}")]
    return sorted(refs, key=lambda ref: (ref.dt, -1 if ref.hr is None else ref.hr))
