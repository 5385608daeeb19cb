"""Native data-out ingestion: new Customer.io data-out files -> the landing layout, partitioned by event date.

* Only files not processed before are read: a watermark in Blob lists processed files and the highest file
  sequence seen per dataset; it is written after every partition of the run has committed, so a crash re-reads the
  same files and, because rows are merged by key, lands the same result.
* The latest row per key wins: the row's ``seq_num`` (when the file has one), then the file sequence, then row order.
  A late file (sequence below what was already processed) never overwrites a row already landed.
* Every source schema version maps to the dataset's one current schema (``dataout_settings``); an unknown version or
  an unreadable file is quarantined (copied under ``_rejected/dataout/`` with its reason) and counted, never dropped.
* ``deliveries`` get their ``customer_id`` through the people identity map (internal id -> customer id) kept in Blob.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.datasets import DATASET_KEYS, DATASET_TIME_COLUMN, arrow_schema
from airflow_provider_cio.landing.dataout_settings import DataOutDataset, DataOutSettings
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import PartitionNotFound, read_table
from airflow_provider_cio.landing.writer import PartitionWriter
from airflow_provider_cio.storage.base import BlobNotFound, ObjectStore

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

SOURCE = "customerio_dataout"
DATASET_ORDER = ("people", "deliveries", "metrics", "events")


@dataclass
class Watermark:
    processed: dict[str, list[str]] = field(default_factory=dict)
    max_seq: dict[str, int] = field(default_factory=dict)

    def seen(self, name: str) -> bool:
        return any(name in names for names in self.processed.values())


@dataclass(frozen=True)
class SourceFile:
    name: str
    spec: DataOutDataset
    seq: int
    version: int | None
    ext: str


@dataclass
class IngestReport:
    """PII-free outcome of one ingestion run (XCom-sized)."""

    files: dict[str, int] = field(default_factory=dict)
    rejected_files: dict[str, str] = field(default_factory=dict)
    rejected_rows: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    late_files: list[str] = field(default_factory=list)

    def to_summary(self) -> dict[str, Any]:
        return asdict(self)


def _state_prefix(root: str, env: str, workspace: str) -> str:
    return f"{root}/_state/{env}/{workspace}/dataout"


def load_watermark(store: ObjectStore, root: str, env: str, workspace: str) -> Watermark:
    try:
        raw = json.loads(store.read_bytes(f"{_state_prefix(root, env, workspace)}/watermark.json"))
    except BlobNotFound:
        return Watermark()
    return Watermark(processed=raw.get("processed", {}), max_seq=raw.get("max_seq", {}))


def _save_watermark(store: ObjectStore, root: str, env: str, workspace: str, mark: Watermark) -> None:
    store.write_bytes(
        f"{_state_prefix(root, env, workspace)}/watermark.json", json.dumps(asdict(mark)).encode()
    )


def find_new_files(
    source: ObjectStore, prefix: str, settings: DataOutSettings, mark: Watermark
) -> list[SourceFile]:
    """Data-out files under ``prefix`` that match a dataset's pattern and were not processed yet."""
    found = []
    compiled = [(re.compile(spec.pattern), spec) for spec in settings.datasets]
    for name in source.list(prefix):
        base = name.rsplit("/", 1)[-1]
        if mark.seen(name):
            continue
        for pattern, spec in compiled:
            match = pattern.match(base)
            if match:
                groups = match.groupdict()
                version = int(groups["version"]) if groups.get("version") else spec.default_version
                ext = groups.get("ext") or spec.file_format
                found.append(SourceFile(name, spec, int(groups["seq"]), version, ext))
                break
    found.sort(key=lambda f: (DATASET_ORDER.index(f.spec.dataset), f.seq, f.name))
    return found[: settings.max_files_per_run]


class _FileRejected(ValueError):
    pass


def _read_raw(data: bytes, ext: str) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    try:
        if ext == "parquet":
            return pq.read_table(io.BytesIO(data))
        if ext == "csv":
            return pacsv.read_csv(io.BytesIO(data))
        if ext == "json":
            return pajson.read_json(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise _FileRejected(f"unreadable {ext} file ({type(exc).__name__})") from None
    raise _FileRejected(f"unsupported file format {ext!r}")


def _to_column(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.type == target:
        return values
    if pa.types.is_timestamp(target):
        if pa.types.is_timestamp(values.type):
            return values.cast(target) if values.type.tz else pc.assume_timezone(values, "UTC").cast(target)
        if pa.types.is_integer(values.type):
            return pc.multiply(values.cast(pa.int64()), 1_000_000).cast(pa.timestamp("us", tz="UTC"))
        return values.cast(pa.string()).cast(target)
    if pa.types.is_boolean(target) and pa.types.is_string(values.type):
        return pc.is_in(pc.utf8_lower(values), pa.array(["true", "1", "t", "yes"]))
    return values.cast(target)


def read_source_file(source: ObjectStore, file: SourceFile) -> pa.Table:
    """One data-out file in the dataset's current schema, plus ordering helper columns."""
    import pyarrow as pa

    raw = _read_raw(source.read_bytes(file.name), file.ext)
    raw = raw.rename_columns([c.replace(".", "_") for c in raw.column_names])
    if file.version is None or file.version not in file.spec.versions:
        raise _FileRejected(f"unknown {file.spec.dataset} schema version {file.version}")
    mapping = file.spec.versions[file.version]
    schema = arrow_schema(file.spec.dataset)
    columns = []
    for target in schema:
        source_column = mapping.get(target.name)
        if source_column is not None and source_column in raw.column_names:
            try:
                columns.append(_to_column(raw[source_column], target.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise _FileRejected(f"column {source_column} cannot be read as {target.type}") from None
        elif not target.nullable and target.name not in ("deleted", "suppressed", "ad_consent"):
            if target.name == "customer_id" and file.spec.dataset != "people":
                columns.append(pa.nulls(raw.num_rows, target.type))
                continue
            raise _FileRejected(f"required column {target.name} (source {source_column}) is missing")
        elif target.name == "ad_consent":
            columns.append(pa.chunked_array([pa.array([True] * raw.num_rows, pa.bool_())]))
        elif target.name in ("deleted", "suppressed"):
            columns.append(pa.chunked_array([pa.array([False] * raw.num_rows, pa.bool_())]))
        else:
            columns.append(pa.nulls(raw.num_rows, target.type))
    table = pa.Table.from_arrays(columns, schema=schema.with_metadata(None).remove_metadata())
    seq_num = (
        raw["seq_num"].cast(pa.int64())
        if "seq_num" in raw.column_names
        else pa.nulls(raw.num_rows, pa.int64())
    )
    table = table.append_column("_seq_num", seq_num)
    table = table.append_column("_file_seq", pa.array([file.seq] * raw.num_rows, pa.int64()))
    return table.append_column("_row", pa.array(range(raw.num_rows), pa.int64()))


def _latest_per_key(table: pa.Table, key: str) -> pa.Table:
    import duckdb

    con = duckdb.connect()
    con.register("t", table)
    return con.sql(
        f"""SELECT * EXCLUDE (rn) FROM (
              SELECT *, row_number() OVER (PARTITION BY "{key}"
                ORDER BY _src DESC, coalesce(_seq_num, -1) DESC, _file_seq DESC, _row DESC) AS rn FROM t)
            WHERE rn = 1 ORDER BY "{key}" """
    ).to_arrow_table()


def _identity_map(store: ObjectStore, root: str, env: str, workspace: str) -> dict[str, str]:
    try:
        return dict(json.loads(store.read_bytes(f"{_state_prefix(root, env, workspace)}/identity_map.json")))
    except BlobNotFound:
        return {}


def ingest_dataout(
    source: ObjectStore,
    source_prefix: str,
    store: ObjectStore,
    *,
    root: str,
    env: str,
    workspace: str,
    settings: DataOutSettings | None = None,
    max_rejected_rate: float = 0.01,
) -> IngestReport:
    """Process every new data-out file under ``source_prefix`` into the landing layout of ``store``."""
    import pyarrow as pa

    settings = settings or DataOutSettings()
    mark = load_watermark(store, root, env, workspace)
    report = IngestReport()
    files = find_new_files(source, source_prefix, settings, mark)
    identity = _identity_map(store, root, env, workspace)
    for dataset in DATASET_ORDER:
        mine = [f for f in files if f.spec.dataset == dataset]
        if not mine:
            continue
        tables = []
        for file in mine:
            try:
                table = read_source_file(source, file)
            except _FileRejected as exc:
                _quarantine_file(source, store, file, str(exc), root, env, workspace)
                report.rejected_files[file.name] = str(exc)
                continue
            late = file.seq < mark.max_seq.get(dataset, -1)
            if late:
                report.late_files.append(file.name)
            tables.append(
                table.append_column("_src", pa.array([0 if late else 2] * table.num_rows, pa.int8()))
            )
        if tables:
            new_rows = pa.concat_tables(tables)
            if dataset == "people":
                pairs = new_rows.select(["internal_customer_id", "customer_id"]).to_pylist()
                identity.update(
                    {p["internal_customer_id"]: p["customer_id"] for p in pairs if p["internal_customer_id"]}
                )
            if dataset == "deliveries":
                internal = new_rows["internal_customer_id"].to_pylist()
                resolved = pa.array([identity.get(i) if i else None for i in internal], pa.string())
                index = new_rows.schema.get_field_index("customer_id")
                new_rows = new_rows.set_column(index, "customer_id", resolved)
            report.rows[dataset] = 0
            _merge_into_partitions(
                store, new_rows, dataset, root, env, workspace, max_rejected_rate, mine, report
            )
        for file in mine:
            mark.processed.setdefault(dataset, []).append(file.name)
            mark.max_seq[dataset] = max(mark.max_seq.get(dataset, -1), file.seq)
        report.files[dataset] = len(mine)
    if files:
        store.write_bytes(
            f"{_state_prefix(root, env, workspace)}/identity_map.json", json.dumps(identity).encode()
        )
        _save_watermark(store, root, env, workspace, mark)
    return report


def _merge_into_partitions(
    store: ObjectStore,
    new_rows: pa.Table,
    dataset: str,
    root: str,
    env: str,
    workspace: str,
    max_rejected_rate: float,
    files: list[SourceFile],
    report: IngestReport,
) -> None:
    """Merge new rows into the partition of each event date they touch; rows missing required values are rejected."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = arrow_schema(dataset)
    key, time_column = DATASET_KEYS[dataset], DATASET_TIME_COLUMN[dataset]
    valid = pa.chunked_array([pa.array([True] * new_rows.num_rows, pa.bool_())])
    for field_ in schema:
        if not field_.nullable:
            valid = pc.and_(valid, pc.is_valid(new_rows[field_.name]))
    day_of = pc.cast(new_rows[time_column], pa.date32())
    undated = new_rows.filter(pc.is_null(day_of))
    if undated.num_rows:
        path = f"{root}/{env}/{workspace}/_rejected/dataout/{dataset}/undated-{files[0].seq}.jsonl"
        lines = [json.dumps(row, default=str) for row in undated.select(schema.names).to_pylist()]
        store.write_bytes(path, ("\n".join(lines) + "\n").encode())
        report.rejected_rows[dataset] = report.rejected_rows.get(dataset, 0) + undated.num_rows
    for day in sorted(d for d in pc.unique(day_of).to_pylist() if d is not None):
        on_day = pc.fill_null(pc.equal(day_of, day), False)
        rows = new_rows.filter(pc.and_(on_day, valid))
        rejects = new_rows.filter(pc.and_(on_day, pc.invert(valid)))
        ref = PartitionRef(root, env, workspace, dataset, day)
        parts = [rows]
        try:
            existing = read_table(store, ref)
        except PartitionNotFound:
            existing = None
        if existing is not None:
            n = existing.num_rows
            existing = existing.append_column("_seq_num", pa.nulls(n, pa.int64()))
            existing = existing.append_column("_file_seq", pa.array([-1] * n, pa.int64()))
            existing = existing.append_column("_row", pa.array(range(n), pa.int64()))
            existing = existing.append_column("_src", pa.array([1] * n, pa.int8()))
            parts.append(existing.select(rows.column_names))
        merged = _latest_per_key(pa.concat_tables(parts), key).select(schema.names).cast(schema)
        with PartitionWriter(
            store,
            ref,
            schema,
            source=SOURCE,
            source_ids=[f.name for f in files],
            max_rejected_rate=max_rejected_rate,
        ) as writer:
            writer.write_batch(merged)
            for row in rejects.select(schema.names).to_pylist():
                writer.reject("missing_required_value", row=row)
            manifest = writer.commit()
        report.partitions.append(ref.prefix)
        report.rows[dataset] = report.rows.get(dataset, 0) + manifest.rows
        report.rejected_rows[dataset] = report.rejected_rows.get(dataset, 0) + manifest.rejected_rows


def _quarantine_file(
    source: ObjectStore,
    store: ObjectStore,
    file: SourceFile,
    reason: str,
    root: str,
    env: str,
    workspace: str,
) -> None:
    base = file.name.rsplit("/", 1)[-1]
    target = f"{root}/{env}/{workspace}/_rejected/dataout/{file.spec.dataset}/{base}"
    store.write_bytes(target, source.read_bytes(file.name))
    store.write_bytes(target + ".reason.json", json.dumps({"file": file.name, "reason": reason}).encode())
    log.warning("quarantined data-out file %s: %s", base, reason)
