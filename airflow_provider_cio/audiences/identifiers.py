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
# Customers per pass of the member-list pivot (``_add_members``): its states stay well inside the engine's budget.
PIVOT_CUSTOMERS: Final = 250_000
# A member needs at least one of these on some platform to be matchable at all.
MATCH_KINDS: Final[tuple[str, ...]] = ("email", "phone")

IDENTITY_TABLES_SQL: Final = """
CREATE TEMP TABLE IF NOT EXISTS identity_drops (
    customer_id VARCHAR, platform VARCHAR, kind VARCHAR, reason VARCHAR
);
CREATE TEMP TABLE IF NOT EXISTS identity_done (customer_id VARCHAR);
CREATE OR REPLACE TEMP TABLE identity_new (
    customer_id VARCHAR, platform VARCHAR, kind VARCHAR, value VARCHAR, reason VARCHAR
);
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
    import pyarrow as pa

    pairs = platform_kinds(platforms)
    con.execute(IDENTITY_TABLES_SQL)
    # a customer's member lists, built once when the customer is hashed: every later build of the run joins 1:1
    # instead of aggregating every hashed row of the run again (tens of millions of rows at 10M people)
    con.execute(
        "CREATE TEMP TABLE IF NOT EXISTS identity_members (customer_id VARCHAR"
        + "".join(f", {column_name(p, k)} VARCHAR[]" for p, k in pairs)
        + ")"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE identity_todo AS "
        f"SELECT DISTINCT customer_id FROM {customers_table} "
        "WHERE customer_id NOT IN (SELECT customer_id FROM identity_done)"
    )
    todo = next(iter(con.execute("SELECT count(*) FROM identity_todo").fetchall()), None)
    count = int(todo[0]) if todo else 0
    if count == 0:
        return 0
    available = {row[0] for row in con.execute("DESCRIBE person_rows").fetchall()}
    wanted = [PEOPLE_COLUMNS[k] for k in dict.fromkeys(k for _, k in pairs) if PEOPLE_COLUMNS[k] in available]
    if "country" in available:
        wanted.append("country")
    # the new customers' people rows once, not one scan of every person per identifier kind
    con.execute(
        "CREATE OR REPLACE TEMP TABLE identity_people AS SELECT p.customer_id"
        + "".join(f', p."{c}"' for c in dict.fromkeys(wanted))
        + " FROM person_rows p SEMI JOIN identity_todo t ON t.customer_id = p.customer_id"
    )
    for kind in dict.fromkeys(k for _, k in pairs):
        column = PEOPLE_COLUMNS[kind]
        if column not in available:
            continue
        country_sql = ", p.country AS raw_country" if kind == "phone" and "country" in available else ""
        rows = con.sql(
            f'SELECT DISTINCT p.customer_id, CAST(p."{column}" AS VARCHAR) AS raw{country_sql} '
            f'FROM identity_people p WHERE p."{column}" IS NOT NULL'
        ).to_arrow_table()
        # one slice at a time: memory stays bounded however many customers a build brings
        for start in range(0, rows.num_rows, HASH_BATCH_ROWS):
            part = rows.slice(start, HASH_BATCH_ROWS)
            values = part.column("raw").combine_chunks()
            countries = part.column("raw_country").to_pylist() if country_sql else None
            for platform in (p for p, k in pairs if k == kind):
                hashed, reasons = _prepare(
                    kind, values, countries, platform=platform, default_country=default_country
                )
                batch = pa.table(
                    {
                        "customer_id": part.column("customer_id"),
                        "platform": pa.array([platform] * part.num_rows, pa.string()),
                        "kind": pa.array([kind] * part.num_rows, pa.string()),
                        "value": hashed,
                        "reason": reasons,
                    }
                )
                con.register("identity_batch", batch)
                con.execute("INSERT INTO identity_new SELECT * FROM identity_batch")
                con.unregister("identity_batch")
                del hashed, reasons, batch
            del values, countries, part
        del rows
    _add_members(con, pairs, count)
    con.execute(
        "INSERT INTO identity_drops SELECT customer_id, platform, kind, reason FROM identity_new "
        "WHERE reason IS NOT NULL"
    )
    con.execute("DROP TABLE identity_new")
    con.execute("DROP TABLE identity_people")
    con.execute("INSERT INTO identity_done SELECT customer_id FROM identity_todo")
    log.info("hashed identifiers of %d customers for %s", count, ", ".join(platforms))
    return count


def _add_members(con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]], customers: int) -> None:
    """identity_members rows of the customers in identity_todo, from identity_new: per (platform, kind) the sorted
    distinct values.

    Most customers hold one value per kind, so the lists come from a scalar pivot (min and max per column: equal
    means one value); list aggregates run only for customers holding several values of a kind (DuckDB's list
    aggregates over every row cost 15-20x the pivot). The pivot keeps two 64-character states per column and
    customer, so it runs over hash buckets of about ``PIVOT_CUSTOMERS`` customers: one bucket of 1.5M customers
    outgrew the engine's memory budget and spilled for minutes at 10M people.
    """
    columns = [column_name(p, k) for p, k in pairs]
    where = [f"r.platform = '{p}' AND r.kind = '{k}'" for p, k in pairs]
    several = " OR ".join(f"lo_{c} <> hi_{c}" for c in columns) or "false"
    buckets = max(1, -(-customers // PIVOT_CUSTOMERS))
    for bucket in range(buckets):
        in_bucket = f"hash(r.customer_id) % {buckets} = {bucket}"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE identity_pivot AS SELECT r.customer_id"
            + "".join(
                f", min(r.value) FILTER (WHERE {w}) AS lo_{c}, max(r.value) FILTER (WHERE {w}) AS hi_{c}"
                for c, w in zip(columns, where, strict=True)
            )
            + f" FROM identity_new r WHERE r.value IS NOT NULL AND {in_bucket} GROUP BY r.customer_id"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE identity_several AS SELECT r.customer_id"
            + "".join(
                f", list_sort(list_distinct(list(r.value) FILTER (WHERE {w}))) AS {c}"
                for c, w in zip(columns, where, strict=True)
            )
            + f" FROM identity_new r SEMI JOIN (SELECT customer_id FROM identity_pivot WHERE {several}) s "
            f"ON s.customer_id = r.customer_id WHERE r.value IS NOT NULL AND {in_bucket} GROUP BY r.customer_id"
        )
        con.execute(
            "INSERT INTO identity_members SELECT r.customer_id"
            + "".join(
                f", CASE WHEN p.lo_{c} IS NULL THEN []::VARCHAR[] WHEN p.lo_{c} = p.hi_{c} THEN [p.lo_{c}] "
                f"ELSE s.{c} END"
                for c in columns
            )
            + " FROM identity_todo r LEFT JOIN identity_pivot p ON p.customer_id = r.customer_id "
            f"LEFT JOIN identity_several s ON s.customer_id = r.customer_id WHERE {in_bucket}"
        )
    con.execute("DROP TABLE IF EXISTS identity_pivot")
    con.execute("DROP TABLE IF EXISTS identity_several")


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
