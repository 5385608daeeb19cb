"""Per-platform identifiers of audience members, hashed with ``airflow_provider_cio.identity``.

Identity is keyed on ``customer_id``: every usable email, phone and name a customer has across their people rows is
kept, one member per customer. Each (customer, raw value) pair is normalized and hashed once per platform (Meta and
Google differ for phones and gmail addresses) through the identity module's Arrow column API (values and per-row
drop reasons stay Arrow columns from the engine's query to its insert). A customer's kept values become one
``identity_members`` row (a list per platform and kind) and each dropped value one ``identity_drops`` row with its
reason, so several audiences built in one run hash a customer only once, join its lists 1:1 and count their own drop
reasons. Only customer ids, hashes and plain zip/country (where
the platform wants them plain) leave this module; raw values stay inside DuckDB and this function's locals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from airflow_provider_cio.identity import kinds_for, normalize, prepare_column_arrow

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import pyarrow as pa

log = logging.getLogger(__name__)

# identifier kind -> people column
PEOPLE_COLUMNS: Final[dict[str, str]] = {
    "email": "email",
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "country": "country",
}
# (customer, raw value) pairs normalized and hashed per slice: a slice's Python strings are a few hundred MB at most
HASH_BATCH_ROWS: Final = 500_000
# Customers hashed and listed per pass: a pass holds its customers' hashes of every kind (about 64 bytes each, a
# dozen kinds) in Arrow until their member rows are inserted.
MEMBER_CHUNK_CUSTOMERS: Final = 250_000
# A member needs at least one of these on some platform to be matchable at all.
MATCH_KINDS: Final[tuple[str, ...]] = ("email", "phone")

IDENTITY_TABLES_SQL: Final = """
CREATE TEMP TABLE IF NOT EXISTS identity_drops (
    customer_id VARCHAR, platform VARCHAR, kind VARCHAR, reason VARCHAR
);
CREATE TEMP TABLE IF NOT EXISTS identity_done (customer_id VARCHAR);
"""


def platform_kinds(platforms: Sequence[str]) -> list[tuple[str, str]]:
    """(platform, kind) pairs the snapshot carries, in a fixed order: Meta's and Google's people-derived kinds."""
    return [(p, k) for p in platforms for k in kinds_for(p) if k in PEOPLE_COLUMNS]


def column_name(platform: str, kind: str) -> str:
    return f"{platform}_{kind}"


def _phone_default(raw_country: object, fallback: str | None) -> str | None:
    """The person's own country decides how a national number is read; else the run's default (may be None)."""
    from airflow_provider_cio.identity.registry import normalizer_for

    iso = normalize("country", raw_country, platform="google") if isinstance(raw_country, str) else None
    for candidate in (iso, fallback):
        if candidate:
            try:
                normalizer_for("phone", "meta", candidate)
            except ValueError:
                continue
            return candidate
    return None


def _prepare(
    kind: str,
    values: pa.Array,
    countries: list[object] | None,
    *,
    platform: str,
    default_country: str | None,
) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(value or null, reason or null) per input position, as Arrow arrays."""
    import numpy as np
    import pyarrow as pa

    if kind != "phone" or countries is None:
        result = prepare_column_arrow(kind, values, platform=platform, default_country=default_country)
        return result.values, result.reasons
    groups: dict[str | None, list[int]] = {}
    memo: dict[object, str | None] = {}
    for i, raw_country in enumerate(countries):
        if raw_country not in memo:
            memo[raw_country] = _phone_default(raw_country, default_country)
        groups.setdefault(memo[raw_country], []).append(i)
    order: list[int] = []
    hashed: list[pa.Array] = []
    reasons: list[pa.Array] = []
    for default, rows in groups.items():
        result = prepare_column_arrow(
            kind, values.take(pa.array(rows, pa.int64())), platform=platform, default_country=default
        )
        order += rows
        hashed.extend(result.values.chunks)
        reasons.extend(result.reasons.chunks)
    back = pa.array(np.argsort(np.asarray(order, dtype=np.int64), kind="stable"))
    return (
        pa.chunked_array(hashed, pa.string()).take(back),
        pa.chunked_array(reasons, pa.string()).take(back),
    )


def hash_new_customers(
    con: duckdb.DuckDBPyConnection,
    customers_table: str,
    *,
    platforms: Sequence[str],
    default_country: str | None,
) -> int:
    """Hash the identifiers of customers in ``customers_table`` not hashed yet in this engine; returns how many."""
    pairs = platform_kinds(platforms)
    con.execute(IDENTITY_TABLES_SQL)
    # a customer's member lists, built once when the customer is hashed: every later build of the run joins 1:1
    # instead of aggregating every hashed row of the run again (tens of millions of rows at 10M people)
    con.execute(
        "CREATE TEMP TABLE IF NOT EXISTS identity_members (customer_id VARCHAR"
        + "".join(f", {column_name(p, k)} VARCHAR[]" for p, k in pairs)
        + ")"
    )
    # each new customer gets a position 0..n-1, and every hashed value is placed by its customer's position: the
    # lists of all kinds line up in one row per customer without a pivot or a join
    con.execute(
        "CREATE OR REPLACE TEMP TABLE identity_todo AS SELECT customer_id, row_number() OVER () - 1 AS idx "
        f"FROM (SELECT DISTINCT customer_id FROM {customers_table} "
        "WHERE customer_id NOT IN (SELECT customer_id FROM identity_done))"
    )
    todo = next(iter(con.execute("SELECT count(*) FROM identity_todo").fetchall()), None)
    count = int(todo[0]) if todo else 0
    if count == 0:
        return 0
    available = {row[0] for row in con.execute("DESCRIBE person_rows").fetchall()}
    kinds = [k for k in dict.fromkeys(k for _, k in pairs) if PEOPLE_COLUMNS[k] in available]
    with_country = "country" in available
    wanted = dict.fromkeys([PEOPLE_COLUMNS[k] for k in kinds] + (["country"] if with_country else []))
    # the new customers' people rows once, in position order (a range of positions is a few row groups), not one
    # scan of every person per identifier kind
    con.execute(
        "CREATE OR REPLACE TEMP TABLE identity_people AS SELECT t.idx"
        + "".join(f', p."{c}"' for c in wanted)
        + " FROM person_rows p JOIN identity_todo t ON t.customer_id = p.customer_id ORDER BY t.idx"
    )
    for start in range(0, count, MEMBER_CHUNK_CUSTOMERS):
        end = min(count, start + MEMBER_CHUNK_CUSTOMERS)
        _hash_chunk(
            con, pairs, kinds, (start, end), with_country=with_country, default_country=default_country
        )
    con.execute("DROP TABLE identity_people")
    con.execute("INSERT INTO identity_done SELECT customer_id FROM identity_todo")
    log.info("hashed identifiers of %d customers for %s", count, ", ".join(platforms))
    return count


def _hash_chunk(
    con: duckdb.DuckDBPyConnection,
    pairs: Sequence[tuple[str, str]],
    kinds: Sequence[str],
    positions: tuple[int, int],
    *,
    with_country: bool,
    default_country: str | None,
) -> None:
    """identity_members and identity_drops rows of the customers at ``positions`` (start, end)."""
    import pyarrow as pa

    start, end = positions
    in_chunk = f"idx >= {start} AND idx < {end}"
    customers = (
        con.sql(f"SELECT customer_id FROM identity_todo WHERE {in_chunk} ORDER BY idx")
        .to_arrow_table()
        .column("customer_id")
        .combine_chunks()
    )
    kept: dict[tuple[str, str], list[tuple[np.ndarray, pa.Array]]] = {pair: [] for pair in pairs}
    drops: list[pa.Table] = []
    for kind in kinds:
        column = PEOPLE_COLUMNS[kind]
        country_sql = ", country AS raw_country" if kind == "phone" and with_country else ""
        rows = con.sql(
            f'SELECT DISTINCT idx, CAST("{column}" AS VARCHAR) AS raw{country_sql} '
            f'FROM identity_people WHERE {in_chunk} AND "{column}" IS NOT NULL'
        ).to_arrow_table()
        # one slice at a time: the Python side of a slice stays bounded however many values a customer has
        for offset in range(0, rows.num_rows, HASH_BATCH_ROWS):
            part = rows.slice(offset, HASH_BATCH_ROWS)
            where = part.column("idx").to_numpy() - start
            values = part.column("raw").combine_chunks()
            countries = part.column("raw_country").to_pylist() if country_sql else None
            for platform in (p for p, k in pairs if k == kind):
                hashed, reasons = _prepare(
                    kind, values, countries, platform=platform, default_country=default_country
                )
                hashed_array, reason_array = hashed.combine_chunks(), reasons.combine_chunks()
                valid = hashed_array.is_valid().to_numpy(zero_copy_only=False)
                kept[(platform, kind)].append((where[valid], hashed_array.filter(valid)))
                dropped = reason_array.is_valid().to_numpy(zero_copy_only=False)
                if dropped.any():
                    count = int(dropped.sum())
                    drops.append(
                        pa.table(
                            {
                                "customer_id": customers.take(pa.array(where[dropped])),
                                "platform": pa.array([platform] * count, pa.string()),
                                "kind": pa.array([kind] * count, pa.string()),
                                "reason": reason_array.filter(dropped),
                            }
                        )
                    )
    members = pa.table(
        {
            "customer_id": customers,
            **{column_name(p, k): _member_lists(kept.pop((p, k)), end - start) for p, k in pairs},
        }
    )
    con.register("identity_batch", members)
    con.execute("INSERT INTO identity_members SELECT * FROM identity_batch")
    con.unregister("identity_batch")
    if drops:
        con.register("identity_batch", pa.concat_tables(drops))
        con.execute("INSERT INTO identity_drops SELECT * FROM identity_batch")
        con.unregister("identity_batch")


def _member_lists(pieces: Sequence[tuple[np.ndarray, pa.Array]], size: int) -> pa.ListArray:
    """One list per customer position ``0..size-1``: the sorted distinct values placed at it (empty where none).

    Sorting by (position, value) puts each customer's values next to each other, in order; a value equal to the one
    before it at the same position is a repeat (two spellings of one email hash alike) and is left out."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    where = np.concatenate([p for p, _ in pieces]) if pieces else np.zeros(0, np.int64)
    values = pa.concat_arrays([v for _, v in pieces]) if pieces else pa.array([], pa.string())
    order = pc.sort_indices(
        pa.table({"where": where, "value": values}), [("where", "ascending"), ("value", "ascending")]
    )
    where, values = where[order.to_numpy()], values.take(order)
    first = np.ones(len(where), dtype=bool)
    if len(where) > 1:
        repeat = pc.equal(values.slice(1), values.slice(0, len(values) - 1)).to_numpy(zero_copy_only=False)
        first[1:] = (where[1:] != where[:-1]) | ~repeat
    offsets = np.zeros(size + 1, dtype=np.int32)
    np.cumsum(np.bincount(where[first], minlength=size), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values.filter(pa.array(first)))


def members_select_sql(kept_table: str, platforms: Sequence[str], extra_columns: Sequence[str]) -> str:
    """SQL of the member rows: one per customer (``kept_table`` has one row per customer), a sorted list of
    distinct values per platform/kind column (``identity_members``, filled by ``hash_new_customers``)."""
    lists = ",\n  ".join(
        f"coalesce(i.{column_name(p, k)}, []::VARCHAR[]) AS {column_name(p, k)}"
        for p, k in platform_kinds(platforms)
    )
    extras = "".join(f", m.{c} AS {c}" for c in extra_columns)
    return (
        f"SELECT m.customer_id{extras},\n  {lists}\n"
        f"FROM {kept_table} m LEFT JOIN identity_members i ON i.customer_id = m.customer_id"
    )
