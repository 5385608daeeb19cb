"""DB-API (PEP 249) plumbing shared by the SQL engines and warehouse reads: bounded Arrow batches out of a cursor,
column families from ``cursor.description``, and driver errors turned into our error classes.

Why plain DB-API and not SQLAlchemy or a DataFrame: it is what every Airflow ``DbApiHook`` hands out
(``get_conn()``), whichever warehouse is behind it, and ``fetchmany`` keeps at most one batch in our memory (with a
server-side cursor where the driver has one: psycopg 2 and 3 named cursors).
"""

from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from airflow_provider_cio.audiences.engines.columns import Family
from airflow_provider_cio.audiences.errors import AudienceInputError
from airflow_provider_cio.errors import ErrorClass

if TYPE_CHECKING:
    import pyarrow as pa

Connect = Callable[[], Any]  # returns a DB-API connection
BATCH_ROWS: Final = 50_000
_QUOTED: Final = re.compile(r"'[^']*'|\"[^\"]*\"")
_SERVER_CURSOR_DRIVERS: Final = ("psycopg2", "psycopg")


class WarehouseUnavailable(AudienceInputError):
    """The warehouse could not be reached or refused us (credentials, host, permissions): configuration."""

    error_class = ErrorClass.CONFIGURATION


def safe_error(exc: BaseException) -> str:
    """A driver's message without quoted values (they can be data) and cut short: fit for a log line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _QUOTED.sub("'…'", text)[:300]


def driver_module(connection: Any) -> Any:
    """The DB-API module a connection comes from (its ``paramstyle`` and type objects)."""
    return importlib.import_module(type(connection).__module__.split(".")[0])


def paramstyle(connection: Any) -> str:
    return str(getattr(driver_module(connection), "paramstyle", "pyformat"))


def open_connection(connect: Connect, *, what: str) -> Any:
    """``connect()``, a failure being a configuration error that names what we tried to reach (never the DSN)."""
    try:
        return connect()
    except Exception as exc:
        raise WarehouseUnavailable(
            f"{what}: cannot connect ({type(exc).__name__}: {safe_error(exc)}); check the connection's host, "
            "credentials and permissions (owner: whoever runs the warehouse connection)"
        ) from None


def description_families(connection: Any, description: Sequence[Sequence[Any]]) -> dict[str, Family | None]:
    """Column -> family from ``cursor.description`` through the driver's PEP 249 type objects (which compare equal
    to the type codes they cover). Booleans have no PEP 249 object; drivers that expose ``BOOLEAN`` are asked."""
    module = driver_module(connection)
    pairs: tuple[tuple[Family, str], ...] = (
        ("timestamp", "DATETIME"),
        ("number", "NUMBER"),
        ("string", "STRING"),
        ("binary", "BINARY"),
    )
    objects = [(fam, getattr(module, name)) for fam, name in pairs if hasattr(module, name)]
    boolean = _boolean_codes(module)
    out: dict[str, Family | None] = {}
    for column in description:
        name, code = str(column[0]), column[1]
        family: Family | None = "bool" if code in boolean else None
        for fam, obj in objects:
            if family is None and obj == code:
                family = fam
        out[name] = family
    return out


def _boolean_codes(module: Any) -> set[Any]:
    name = module.__name__
    if name == "psycopg2":
        return {16}
    if name == "psycopg":
        return {module.adapters.types.get("bool").oid}
    return set()


def _column(values: list[Any], arrow_type: pa.DataType | None) -> pa.Array:
    import pyarrow as pa

    if arrow_type is not None:
        if pa.types.is_floating(arrow_type):
            values = [None if v is None else float(v) for v in values]  # Decimal from numeric columns
        try:
            return pa.array(values, type=arrow_type)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            # e.g. ints into a column that an all-null first batch made text
            return pa.array(values).cast(arrow_type)
    array = pa.array(values)
    if pa.types.is_null(array.type):
        return array.cast(pa.string())
    if pa.types.is_decimal(array.type):
        return array.cast(pa.float64())
    return array


def rows_to_batches(
    rows: Iterable[Sequence[Any]], names: Sequence[str], schema: pa.Schema | None, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """Chunk an iterator of row tuples into record batches of at most ``batch_rows`` rows.

    With no ``schema`` the first batch's inferred types become the schema (all-null columns as string) and later
    batches are cast to it, so the reader's schema is stable."""
    import pyarrow as pa

    iterator = iter(rows)
    while True:
        chunk = list(itertools.islice(iterator, batch_rows))
        if not chunk:
            return
        columns = list(zip(*chunk, strict=True))
        types = [schema.field(n).type for n in names] if schema is not None else [None] * len(names)
        batch = pa.RecordBatch.from_arrays(
            [_column(list(col), t) for col, t in zip(columns, types, strict=True)], names=list(names)
        )
        if schema is None:
            schema = batch.schema
        yield batch.cast(schema) if batch.schema != schema else batch


def empty_reader(names: Sequence[str], schema: pa.Schema | None) -> pa.RecordBatchReader:
    import pyarrow as pa

    schema = schema or pa.schema([(n, pa.string()) for n in names])
    return pa.RecordBatchReader.from_batches(schema, iter(()))


def fetch_batches(cursor: Any, batch_rows: int) -> Iterator[Sequence[Any]]:
    """Rows from ``fetchmany`` calls: at most ``batch_rows`` rows held by the driver and by us at a time."""
    while True:
        rows = cursor.fetchmany(batch_rows)
        if not rows:
            return
        yield from rows


def streaming_cursor(connection: Any, label: str) -> Any:
    """A server-side (named) cursor where the driver has one, else a plain cursor (``fetchmany`` still bounds us;
    whether the driver itself buffers the whole result is the driver's matter, see docs/warehouse.md)."""
    if driver_module(connection).__name__ in _SERVER_CURSOR_DRIVERS:
        return connection.cursor(name=re.sub(r"[^a-z0-9_]", "_", label.lower())[:60])
    return connection.cursor()


def family_type(family: Family | None) -> pa.DataType:
    """The Arrow type a column of ``family`` becomes (numbers as float64: a decimal or an int fits)."""
    import pyarrow as pa

    return {
        "string": pa.string(),
        "number": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
        "binary": pa.binary(),
    }.get(family or "string", pa.string())


def query_batches(
    connection: Any,
    sql: str,
    params: Any,
    *,
    label: str,
    schema: pa.Schema | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Run ``sql`` on a streaming cursor and yield its result in batches (at most ``batch_rows`` rows each).

    An empty result yields one empty batch, typed from the cursor's description, so callers always see columns."""
    import pyarrow as pa

    cursor = streaming_cursor(connection, label)
    try:
        cursor.execute(sql, params)
        first = cursor.fetchmany(batch_rows)  # a psycopg2 named cursor has a description only after a fetch
        if cursor.description is None:
            return
        names = [str(d[0]) for d in cursor.description]
        if schema is None:  # types from the driver's description, not from whatever the first rows hold
            families = description_families(connection, cursor.description)
            if all(families[n] is not None for n in names):
                schema = pa.schema([(n, family_type(families[n])) for n in names])
        if not first:
            if schema is None:
                schema = pa.schema([(n, pa.string()) for n in names])
            yield pa.RecordBatch.from_pylist([], schema=schema)
            return
        rows = itertools.chain(first, fetch_batches(cursor, batch_rows))
        yield from rows_to_batches(rows, names, schema, batch_rows)
    finally:
        cursor.close()
