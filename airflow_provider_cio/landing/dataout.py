"""Native data-out ingestion: new Customer.io data-out files -> the landing layout, partitioned by event date.

* Only files not processed before are read: a watermark in Blob lists processed files and the highest file
  sequence seen per dataset; it is written after every partition of the run has committed, so a crash re-reads the
  same files and, because rows are merged by key, lands the same result.
* The latest row per key wins: the row's ``seq_num`` (when the file has one), then the file sequence, then row order.
  A late file (sequence below what was already processed) never overwrites a row already landed.
* Every source schema version maps to the dataset's one current schema (``dataout_settings``); an unknown version or
  an unreadable file is quarantined (copied under ``_rejected/dataout/`` with its reason) and counted, never dropped.
* Every value is typed from its column's documented type, row by row: a value that does not convert (a boolean
  spelled ``Y``, invalid UTF-8, an oversized field, a JSON line that is not JSON) rejects its row, counted in its
  day's partition with the column's name as the reason, never coerced to a default.
* A mapped column a file lacks is unknown, not null: each key keeps its latest known value, and the column is
  recorded as absent in the manifest, where the contract's ``absent_severity`` decides what the gate does.
* ``deliveries`` get their ``customer_id`` through the people identity map (internal id -> customer id) kept in Blob.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.datasets import DATASET_KEYS, DATASET_TIME_COLUMN, arrow_schema
from airflow_provider_cio.errors import CioError, ErrorClass
from airflow_provider_cio.landing.dataout_settings import DataOutDataset, DataOutSettings
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import (
    PartitionNotFound,
    list_partitions,
    read_generation,
    read_table,
)
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
    # dataset -> reject reason (column names, never values) -> rows
    rejected_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    # dataset -> landed columns some file of the run did not carry (their prior values were kept)
    absent_columns: dict[str, list[str]] = field(default_factory=dict)

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


class DataOutRowsRejected(CioError, ValueError):
    """Too many of a run's rows were rejected before their date was known (rows of the wrong shape, lines that are
    not JSON); nothing of the dataset was committed. The message names reasons and counts, never values."""

    error_class = ErrorClass.UPSTREAM_DATA


REJECT = "_reject"
ABSENT = "_absent"
# Datasets whose rows move to another day's partition when they change (their time column is an update time): a
# value kept from a prior row may sit in any earlier partition, not only in the partition the new row lands in.
MOVING_ROWS = ("people",)


@dataclass
class SourceRows:
    """One data-out file in the landed schema: rows to merge, rows rejected with a reason, what the file lacked.

    ``rows`` carry ordering helpers (``_seq_num``, ``_file_seq``, ``_row``) and ``_absent``: the landed columns the
    file did not carry, as ``,a,b,`` (their values are unknown, not null). ``rejected`` keeps of a bad row only its
    time column (to count it in its day's partition), its reason and its row number. ``unplaced`` counts rows
    rejected before a date could be read (wrong shape, not JSON), by reason.
    """

    rows: pa.Table
    rejected: pa.Table
    unplaced: Counter[str]
    absent: list[str]


def _work_schema(dataset: str) -> pa.Schema:
    import pyarrow as pa

    landed = [pa.field(f.name, f.type) for f in arrow_schema(dataset)]
    return pa.schema(landed + [pa.field("_seq_num", pa.int64()), pa.field(REJECT, pa.string())])


def read_source_file(
    source: ObjectStore, file: SourceFile, settings: DataOutSettings | None = None
) -> SourceRows:
    """One data-out file in the dataset's current schema: every value typed from its documented type, a value that
    does not convert (a boolean spelled ``Y``, invalid UTF-8, an oversized field) rejects its row with the column's
    name as the reason, never a default; a mapped column the file lacks is recorded as absent."""
    import pyarrow as pa
    import pyarrow.compute as pc

    settings = settings or DataOutSettings()
    if file.version is None or file.version not in file.spec.versions:
        raise _FileRejected(f"unknown {file.spec.dataset} schema version {file.version}")
    dataset = file.spec.dataset
    mapping = file.spec.versions[file.version]
    schema = _work_schema(dataset)
    sources = {name: mapping[name] for name in schema.names if name in mapping}
    sources["_seq_num"] = "seq_num"
    data = source.read_bytes(file.name)
    unplaced: Counter[str] = Counter()
    if file.ext in ("csv", "json") and not data.strip():  # an interval without calls: nothing to land
        return _no_rows(schema, DATASET_TIME_COLUMN[dataset])
    if file.ext == "csv":
        table, present = _read_csv(data, dataset, sources, schema, settings, unplaced)
    elif file.ext in ("parquet", "json"):
        raw = _read_parquet(data) if file.ext == "parquet" else _read_json(data, unplaced)
        present = set(raw.column_names)
        table = _convert(raw, sources, schema, settings)
    else:
        raise _FileRejected(f"unsupported file format {file.ext!r}")
    key, time_column = DATASET_KEYS[dataset], DATASET_TIME_COLUMN[dataset]
    absent = [name for name, column in mapping.items() if name in schema.names and column not in present]
    for name in absent:
        if name in (key, time_column):
            raise _FileRejected(f"required column {name} (source {mapping[name]}) is missing")
    # data-out people carry no consent column (consent is an ``attributes`` row, a dataset not landed yet): they
    # land with the consent the settings state (not consented unless the team says otherwise), never a guess
    if "ad_consent" in schema.names and "ad_consent" not in mapping:
        index = schema.get_field_index("ad_consent")
        consent = pa.scalar(settings.ad_consent_when_unmapped)
        table = table.set_column(index, "ad_consent", pa.repeat(consent, table.num_rows))
    n = table.num_rows
    table = table.append_column("_file_seq", pa.array([file.seq] * n, pa.int64()))
    table = table.append_column("_row", pa.array(range(n), pa.int64()))
    marks = "," + ",".join(absent) + "," if absent else ""
    table = table.append_column(ABSENT, pa.array([marks] * n, pa.string()))
    bad = pc.is_valid(table[REJECT])
    rejected = table.filter(bad).select([time_column, REJECT, "_row"])
    return SourceRows(table.filter(pc.invert(bad)).drop_columns([REJECT]), rejected, unplaced, absent)


def _no_rows(schema: pa.Schema, time_column: str) -> SourceRows:
    import pyarrow as pa

    empty = schema.empty_table()
    rows = empty.drop_columns([REJECT]).append_column("_file_seq", pa.array([], pa.int64()))
    rows = rows.append_column("_row", pa.array([], pa.int64())).append_column(
        ABSENT, pa.array([], pa.string())
    )
    rejected = empty.select([time_column, REJECT]).append_column("_row", pa.array([], pa.int64()))
    return SourceRows(rows, rejected, Counter(), [])


def _read_csv(
    data: bytes,
    dataset: str,
    sources: dict[str, str],
    schema: pa.Schema,
    settings: DataOutSettings,
    unplaced: Counter[str],
) -> tuple[pa.Table, set[str]]:
    """The export CSV reader (row-level quarantine of shape, UTF-8 and size errors) with this file's mapping."""
    import pyarrow as pa

    from airflow_provider_cio.customerio.errors import ExportFormatError
    from airflow_provider_cio.customerio.export_csv import Quarantine, iter_export_batches
    from airflow_provider_cio.customerio.export_format import normalize_header

    shapes = Quarantine(max_examples=0)
    aliases = {name: (normalize_header(column),) for name, column in sources.items()}
    try:
        batches = list(
            iter_export_batches(
                [data],
                dataset,
                quarantine=shapes,
                aliases=aliases,
                schema=schema.remove(schema.get_field_index(REJECT)),
                booleans=settings.booleans,
                max_field_bytes=settings.max_field_bytes,
                keep_rejected=True,
                default_fills=False,
            )
        )
    except ExportFormatError as exc:
        raise _FileRejected(str(exc)) from None
    if shapes.count:
        unplaced["wrong number of fields"] += shapes.count
    first_line = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    header = {normalize_header(name) for name in next(csv.reader([first_line]), [])} if first_line else set()
    present = {column for column in sources.values() if normalize_header(column) in header}
    table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    return table, present


def _flattened(table: pa.Table) -> pa.Table:
    """Nested objects become ``parent_child`` columns (Data Pipelines flattens them that way in CSV/Parquet)."""
    import pyarrow as pa

    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table.rename_columns([c.replace(".", "_") for c in table.column_names])


def _read_parquet(data: bytes) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return _flattened(pq.read_table(io.BytesIO(data)))
    except (pa.ArrowInvalid, OSError) as exc:
        raise _FileRejected(f"unreadable parquet file ({type(exc).__name__})") from None


def _read_json(data: bytes, unplaced: Counter[str]) -> pa.Table:
    """Newline-delimited JSON, line by line: a line that is not a UTF-8 JSON object is rejected alone.

    Values are kept as text (``true``/``false``, numbers as written) and typed by the same converters as CSV.
    """
    import pyarrow as pa

    columns: dict[str, list[str | None]] = {}
    rows = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except UnicodeDecodeError:
            unplaced["line not valid UTF-8"] += 1
            continue
        except ValueError:
            unplaced["line not valid JSON"] += 1
            continue
        if not isinstance(item, dict):
            unplaced["line not a JSON object"] += 1
            continue
        flat: dict[str, str | None] = {}
        try:
            _flatten_json(item, "", flat)
        except UnicodeEncodeError:  # a lone surrogate escape (\ud800): not text
            unplaced["line not valid UTF-8"] += 1
            continue
        for name, value in flat.items():
            columns.setdefault(name, [None] * rows).append(value)
        rows += 1
        for values in columns.values():
            if len(values) < rows:
                values.append(None)
    if not rows:
        counts = ", ".join(f"{reason}: {n}" for reason, n in unplaced.most_common())
        raise _FileRejected(f"no line is a JSON object ({counts})")
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _flatten_json(item: dict[str, Any], prefix: str, out: dict[str, str | None]) -> None:
    for key, value in item.items():
        name = f"{prefix}{str(key).replace('.', '_')}"
        if isinstance(value, dict):
            _flatten_json(value, name + "_", out)
            continue
        if value is None:
            text = None
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = value
        elif isinstance(value, int | float):
            text = repr(value)
        else:  # arrays: stringified, as Data Pipelines does for CSV
            text = json.dumps(value, ensure_ascii=False)
        if text is not None:
            text.encode("utf-8")  # raises on a lone surrogate
        out[name] = text


def _convert(
    raw: pa.Table, sources: dict[str, str], schema: pa.Schema, settings: DataOutSettings
) -> pa.Table:
    """Typed columns of ``schema`` from a Parquet or JSON table; ``_reject`` names each bad row's first bad column."""
    import numpy as np
    import pyarrow as pa

    n = raw.num_rows
    bad = np.zeros(n, dtype=bool)
    reasons: list[str | None] = [None] * n
    arrays = []

    def flag(invalid: Any, reason: str) -> None:
        nonlocal bad
        new = invalid & ~bad
        for i in np.flatnonzero(new).tolist():
            reasons[i] = reason
        bad = bad | new

    for target in schema:
        column = sources.get(target.name)
        if target.name == REJECT:
            continue
        if column is None or column not in raw.column_names:
            arrays.append(pa.nulls(n, target.type))
            continue
        values, problems = _typed(raw[column].combine_chunks(), target.type, settings)
        for invalid, why in problems:
            flag(invalid, f"column {target.name}: {why}")
        arrays.append(values)
    arrays.append(pa.array(reasons, pa.string()))
    return pa.Table.from_arrays(arrays, schema=schema)


def _typed(
    values: pa.Array, target: pa.DataType, settings: DataOutSettings
) -> tuple[pa.Array, list[tuple[Any, str]]]:
    """(typed values, [(invalid mask, why)]) for one column; text goes through the shared converters."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from airflow_provider_cio.customerio.convert import convert_text, decode_text

    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        # Parquet readers hand strings over unvalidated: check them as bytes, like every other text
        values = values.cast(pa.binary() if pa.types.is_string(values.type) else pa.large_binary())
    if values.type == target:
        return values, []
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(values.type):
        zoned = values if values.type.tz else pc.assume_timezone(values, "UTC")
        try:
            return zoned.cast(target), []
        except pa.ArrowInvalid:  # nanoseconds: truncated to the microseconds we land
            return zoned.cast(target, safe=False), []
    if not (pa.types.is_string(values.type) or pa.types.is_binary(values.type)):
        try:
            values = values.cast(pa.string())  # true/false, 12, 1.5: the documented text of each type
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            present = np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False))
            return pa.nulls(len(values), target), [(present, f"a {values.type} cannot be read as {target}")]
    text, not_utf8, too_long = decode_text(values, settings.max_field_bytes)
    typed, invalid = convert_text(text, target, settings.booleans)
    return typed, [
        (not_utf8, "not valid UTF-8"),
        (too_long, f"value longer than {settings.max_field_bytes} bytes"),
        (invalid, f"not a valid {target}"),
    ]


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
    """Process every new data-out file under ``source_prefix`` into the landing layout of ``store``.

    Raises ``TooManyRejectedRows`` (from the partition writer) when a partition's rejected share passes
    ``max_rejected_rate``, ``DataOutRowsRejected`` when rows rejected before their date was known do; the watermark
    is then not advanced, so the same files are read again once the source is fixed.
    """
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
        tables, rejected = [], []
        unplaced: Counter[str] = Counter()
        for file in mine:
            try:
                read = read_source_file(source, file, settings)
            except _FileRejected as exc:
                _quarantine_file(source, store, file, str(exc), root, env, workspace)
                report.rejected_files[file.name] = str(exc)
                continue
            late = file.seq < mark.max_seq.get(dataset, -1)
            if late:
                report.late_files.append(file.name)
            tables.append(
                read.rows.append_column("_src", pa.array([0 if late else 2] * read.rows.num_rows, pa.int8()))
            )
            rejected.append(read.rejected)
            unplaced.update(read.unplaced)
            if read.absent:
                merged = set(report.absent_columns.get(dataset, [])) | set(read.absent)
                report.absent_columns[dataset] = sorted(merged)
                log.warning(
                    "data-out %s file %s lacks columns %s: their prior values are kept",
                    dataset,
                    file.name.rsplit("/", 1)[-1],
                    ", ".join(read.absent),
                )
        if tables:
            new_rows = pa.concat_tables(tables)
            bad_rows = pa.concat_tables(rejected)
            _check_unplaced(dataset, unplaced, new_rows.num_rows + bad_rows.num_rows, max_rejected_rate)
            if unplaced:
                report.rejected_rows[dataset] = report.rejected_rows.get(dataset, 0) + sum(unplaced.values())
                _count_reasons(report, dataset, unplaced)
            if dataset == "deliveries":
                internal = new_rows["internal_customer_id"].to_pylist()
                resolved = pa.array([identity.get(i) if i else None for i in internal], pa.string())
                index = new_rows.schema.get_field_index("customer_id")
                new_rows = new_rows.set_column(index, "customer_id", resolved)
            new_rows = _keep_prior_values(store, new_rows, dataset, root, env, workspace)
            if dataset == "people":
                pairs = new_rows.select(["internal_customer_id", "customer_id"]).to_pylist()
                identity.update(
                    {p["internal_customer_id"]: p["customer_id"] for p in pairs if p["internal_customer_id"]}
                )
            report.rows[dataset] = 0
            _merge_into_partitions(
                store, new_rows, bad_rows, dataset, root, env, workspace, max_rejected_rate, mine, report
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


def _check_unplaced(dataset: str, unplaced: Counter[str], placed: int, max_rejected_rate: float) -> None:
    """Rows rejected before a date was known count against the limit over the run's rows of the dataset."""
    count = sum(unplaced.values())
    seen = count + placed
    if seen and count / seen > max_rejected_rate:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in unplaced.most_common())
        raise DataOutRowsRejected(
            f"data-out {dataset}: {count} of {seen} rows could not be read ({100 * count / seen:.2f}% > limit "
            f"{100 * max_rejected_rate:.2f}%): {reasons}. Nothing of {dataset} was committed; the files are "
            "read again on the next run."
        )


def _count_reasons(report: IngestReport, dataset: str, reasons: Counter[str]) -> None:
    counts = report.rejected_reasons.setdefault(dataset, {})
    for reason, n in reasons.items():
        counts[reason] = counts.get(reason, 0) + n


def _keep_prior_values(
    store: ObjectStore, new_rows: pa.Table, dataset: str, root: str, env: str, workspace: str
) -> pa.Table:
    """Columns a file lacked take each key's latest known value: from newer rows of this run that carried the
    column, else from the landed partitions (all of them for ``MOVING_ROWS``, else the days the rows land in).

    A key with no known value keeps null: unknown, and the contract's severity for an absent column decides.
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    marks = {m for m in pc.unique(new_rows[ABSENT]).to_pylist() if m}
    columns = sorted({c for m in marks for c in m.strip(",").split(",") if c})
    if not columns:
        return new_rows
    key, time_column = DATASET_KEYS[dataset], DATASET_TIME_COLUMN[dataset]
    needing = new_rows.filter(pc.not_equal(new_rows[ABSENT], ""))
    refs = list_partitions(store, root, env, workspace, dataset)
    if dataset not in MOVING_ROWS:
        days = {d for d in pc.cast(needing[time_column], pa.date32()).to_pylist() if d is not None}
        refs = [ref for ref in refs if ref.dt in days and ref.hr is None]
    wanted = pa.array(pc.unique(needing[key]))
    prior_parts = []
    for ref in refs:
        try:
            part = read_table(store, ref, columns=[key, *columns, time_column])
        except PartitionNotFound:
            continue
        prior_parts.append(part.filter(pc.is_in(part[key], value_set=wanted)))
    con = duckdb.connect()
    con.register("new_rows", new_rows)
    quoted = ", ".join(f'"{c}"' for c in columns)
    prior_sql = "SELECT NULL AS k WHERE false"
    if prior_parts:
        con.register("prior", pa.concat_tables(prior_parts))
        prior_sql = (
            f"SELECT \"{key}\", {quoted}, '' AS {ABSENT}, 1::TINYINT AS _src, NULL::BIGINT AS _seq_num, "
            f'-1::BIGINT AS _file_seq, 0::BIGINT AS _row, "{time_column}" AS _ptime FROM prior'
        )
    candidates = (
        f'SELECT "{key}", {quoted}, {ABSENT}, _src, _seq_num, _file_seq, _row, NULL::TIMESTAMPTZ AS _ptime '
        f'FROM new_rows WHERE "{key}" IN (SELECT "{key}" FROM new_rows WHERE {ABSENT} <> \'\')'
    )
    if prior_parts:
        candidates += f" UNION ALL BY NAME {prior_sql}"
    known = ", ".join(
        f"arg_min({{'v': \"{c}\"}}, _rn) FILTER (WHERE position(',{c},' IN {ABSENT}) = 0).v AS \"_known_{c}\""
        for c in columns
    )
    chosen = ", ".join(
        f'CASE WHEN position(\',{c},\' IN n.{ABSENT}) > 0 THEN k."_known_{c}" ELSE n."{c}" END AS "{c}"'
        for c in columns
    )
    sql = f"""
        WITH candidates AS ({candidates}),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY "{key}" ORDER BY _src DESC, coalesce(_seq_num, -1) DESC,
                _file_seq DESC, _row DESC, _ptime DESC NULLS LAST) AS _rn FROM candidates),
        kept AS (SELECT "{key}", {known} FROM ranked GROUP BY "{key}")
        SELECT n.* REPLACE ({chosen}) FROM new_rows n LEFT JOIN kept k ON n."{key}" = k."{key}"
    """
    filled = con.sql(sql).to_arrow_table()
    con.close()
    return filled.select(new_rows.column_names).cast(new_rows.schema)


def _merge_into_partitions(
    store: ObjectStore,
    new_rows: pa.Table,
    bad_rows: pa.Table,
    dataset: str,
    root: str,
    env: str,
    workspace: str,
    max_rejected_rate: float,
    files: list[SourceFile],
    report: IngestReport,
) -> None:
    """Merge new rows into the partition of each event date they touch. Rows missing required values, and rows
    whose values did not convert (``bad_rows``), are rejected in their day's partition and count against its
    limit; rows without a readable date are kept under ``_rejected/dataout/`` and counted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = arrow_schema(dataset)
    key, time_column = DATASET_KEYS[dataset], DATASET_TIME_COLUMN[dataset]
    valid = pa.chunked_array([pa.array([True] * new_rows.num_rows, pa.bool_())])
    for field_ in schema:
        if not field_.nullable:
            valid = pc.and_(valid, pc.is_valid(new_rows[field_.name]))
    day_of = pc.cast(new_rows[time_column], pa.date32())
    bad_day = pc.cast(bad_rows[time_column], pa.date32())
    undated = new_rows.filter(pc.is_null(day_of))
    bad_undated = bad_rows.filter(pc.is_null(bad_day))
    if undated.num_rows or bad_undated.num_rows:
        path = f"{root}/{env}/{workspace}/_rejected/dataout/{dataset}/undated-{files[0].seq}.jsonl"
        lines = [json.dumps(row, default=str) for row in undated.select(schema.names).to_pylist()]
        lines += [
            json.dumps({"reason": r, "row": i})
            for r, i in zip(bad_undated[REJECT].to_pylist(), bad_undated["_row"].to_pylist(), strict=True)
        ]
        store.write_bytes(path, ("\n".join(lines) + "\n").encode())
        report.rejected_rows[dataset] = report.rejected_rows.get(dataset, 0) + len(lines)
        _count_reasons(
            report, dataset, Counter({"no date": undated.num_rows}) + Counter(bad_undated[REJECT].to_pylist())
        )
    days = {d for d in pc.unique(day_of).to_pylist() if d is not None}
    days |= {d for d in pc.unique(bad_day).to_pylist() if d is not None}
    for day in sorted(days):
        on_day = pc.fill_null(pc.equal(day_of, day), False)
        rows = new_rows.filter(pc.and_(on_day, valid))
        rejects = new_rows.filter(pc.and_(on_day, pc.invert(valid)))
        bad_today = bad_rows.filter(pc.fill_null(pc.equal(bad_day, day), False))
        absent = sorted(
            {
                c
                for m in pc.unique(new_rows.filter(on_day)[ABSENT]).to_pylist()
                for c in m.strip(",").split(",")
                if c
            }
        )
        ref = PartitionRef(root, env, workspace, dataset, day)
        parts = [rows.drop_columns([ABSENT])]
        existing: pa.Table | None
        try:
            generation, existing = read_generation(store, ref)
        except PartitionNotFound:
            generation, existing = None, None
        if existing is not None:
            n = existing.num_rows
            existing = existing.append_column("_seq_num", pa.nulls(n, pa.int64()))
            existing = existing.append_column("_file_seq", pa.array([-1] * n, pa.int64()))
            existing = existing.append_column("_row", pa.array(range(n), pa.int64()))
            existing = existing.append_column("_src", pa.array([1] * n, pa.int8()))
            parts.append(existing.select(parts[0].column_names).cast(parts[0].schema))
        merged = _latest_per_key(pa.concat_tables(parts), key).select(schema.names).cast(schema)
        with PartitionWriter(
            store,
            ref,
            schema,
            source=SOURCE,
            source_ids=[f.name for f in files],
            max_rejected_rate=max_rejected_rate,
            replaces=generation,  # merged from that generation: a commit that overtook it fails this one
        ) as writer:
            writer.write_batch(merged)
            writer.note_absent_columns(absent)
            for row in rejects.select(schema.names).to_pylist():
                missing = [
                    name for name in schema.names if row[name] is None and not schema.field(name).nullable
                ]
                writer.reject(f"missing required value: {', '.join(missing)}", row=row)
            for reason, row_number in zip(
                bad_today[REJECT].to_pylist(), bad_today["_row"].to_pylist(), strict=True
            ):
                writer.reject(reason, detail=f"row {row_number}")
            manifest = writer.commit()
        report.partitions.append(ref.prefix)
        report.rows[dataset] = report.rows.get(dataset, 0) + manifest.rows
        report.rejected_rows[dataset] = report.rejected_rows.get(dataset, 0) + manifest.rejected_rows
        _count_reasons(report, dataset, Counter(manifest.rejected_reasons))


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
