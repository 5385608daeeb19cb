"""Emails and phones of the common shapes normalized and hashed a column at a time, the rest in Python.

Why: per value, Python normalization (about 0.6 us per email, 1.0 us per phone) costs more than ``hashlib``'s whole
hash, and DuckDB's ``sha256()`` takes about 0.6x hashlib's CPU per value, vectorised, on every core DuckDB is given.
So a column goes through a vectorised path that, for the shapes people usually type (ASCII, well-formed, a known
calling code, nothing a rule might refuse), returns exactly what the per-value normalizer returns, and null for
everything else: one SQL expression for emails, integer arithmetic in numpy for phones (``phone_numbers``: DuckDB's
string functions cost 0.85 us per phone there). The caller sends every null row to the per-value normalizer
(``registry.normalizer_for``), so a refused row keeps its reason and its count, and a borderline row (non-ASCII,
``xn--``, ``(0)`` in odd places, a placeholder-looking or fictional-range number, an unknown calling code, a wrong
length) is decided by the one implementation of the rules. The vectorised paths only ever decide "kept, with this
value": they never refuse a row themselves. The property tests hold them to the per-value rules for generated values.

Whitespace: DuckDB's ``trim`` removes spaces only, Python's ``strip`` every ASCII whitespace; a value padded with
anything else keeps it here, fails the shape check and goes to Python.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from airflow_provider_cio.identity.kinds import EMAIL, META, PHONE

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# email._EMAIL on ASCII text in RE2 syntax (DuckDB's regexp functions are RE2): no possessive quantifiers, and
# Python's ``\s`` spelled out (RE2's ``\s`` lacks \x0b and U+001C..U+001F).
_NOT_AT_OR_SPACE: Final = r"[^@\t\n\x0b\x0c\r\x1c-\x1f ]"
_NOT_AT_DOT_OR_SPACE: Final = r"[^@.\t\n\x0b\x0c\r\x1c-\x1f ]"
EMAIL_RE2: Final = rf"^{_NOT_AT_OR_SPACE}+@{_NOT_AT_DOT_OR_SPACE}+(?:\.{_NOT_AT_DOT_OR_SPACE}+)+$"
# DuckDB hands each Arrow batch of a registered table to one thread; a column arriving as one chunk (the usual case)
# would run on one core. Slices of this many rows keep both cores busy (measured at 1M in SQL: phones 0.23 s -> 0.13
# s); the phone path's numpy threads take the same slices.
SCAN_ROWS: Final = 32_768


def _ascii(column: str) -> str:
    """True for ASCII text: as many bytes as characters."""
    return f"strlen({column}) = length({column})"


def _email_sql(platform: str, source: str) -> str:
    """Meta: trimmed, lowercased. Google also drops the dots and the ``+tag`` of a gmail.com/googlemail.com local
    part; an empty local part after that is refused, so it goes to Python."""
    # trim() only where there is a space to trim: most addresses have none, and trim() copies every string
    trimmed = "CASE WHEN starts_with(raw, ' ') OR suffix(raw, ' ') THEN trim(raw) ELSE raw END"
    lowered = f"SELECT raw, lower({trimmed}) AS l FROM {source}"
    common = f"{_ascii('raw')} AND regexp_full_match(l, '{EMAIL_RE2}') AND NOT contains(l, 'xn--')"
    if platform == META:
        return f"SELECT CASE WHEN {common} THEN l END AS v FROM ({lowered})"
    gmail = "suffix(l, '@gmail.com') OR suffix(l, '@googlemail.com')"
    local = "replace(split_part(split_part(l, '@', 1), '+', 1), '.', '')"
    return (
        f"SELECT CASE WHEN {common} THEN CASE WHEN {gmail} THEN "
        f"CASE WHEN {local} <> '' THEN {local} || '@' || split_part(l, '@', 2) END "
        f"ELSE l END END AS v FROM ({lowered})"
    )


def common_sql(kind: str, platform: str, default_country: str | None, source: str) -> str | None:
    """A query over ``source`` (a table with a text column ``raw``) giving one column ``v`` in row order: the
    normalized value where the common path decides it, else NULL. ``None`` for a kind without an SQL path (phones
    are decided in ``phone_numbers``)."""
    if kind == EMAIL:
        return _email_sql(platform, source)
    return None


_database: tuple[int, duckdb.DuckDBPyConnection] | None = None
_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A cursor (its own connection) on this process's in-memory database: opening a database costs tens of ms,
    a cursor almost nothing; a forked child opens its own rather than share its parent's."""
    global _database
    import duckdb

    from airflow_provider_cio.duckdb_memory import bound_memory

    with _lock:
        if _database is None or _database[0] != os.getpid():
            database = duckdb.connect()
            bound_memory(database)  # the engines' budget, not DuckDB's 80% of the machine
            _database = (os.getpid(), database)
        return _database[1].cursor()


def run_common(
    kind: str, platform: str, default_country: str | None, hashed: bool, text: pa.Array | pa.ChunkedArray
) -> pa.ChunkedArray:
    """Per row: the hash (or normalized value) where the common path decides it, else null (Python decides).

    Emails: one SQL query. Phones: ``phone_numbers`` (numpy), then DuckDB's ``sha256`` when hashed."""
    import pyarrow as pa

    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    batches = [chunk.slice(start, SCAN_ROWS) for chunk in chunks for start in range(0, len(chunk), SCAN_ROWS)]
    column_type = text.type
    if kind == PHONE:
        from airflow_provider_cio.identity.phone_numbers import decide_phones

        with ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:  # numpy lets go of the GIL
            decided = pool.map(lambda batch: decide_phones(batch, platform, default_country), batches)
            phones = pa.chunked_array(list(decided), pa.string())
        if not hashed:
            return phones
        batches, column_type, sql = phones.chunks, pa.string(), "SELECT raw AS v FROM raw_table"
    else:
        found = common_sql(kind, platform, default_country, "raw_table")
        if found is None:
            raise ValueError(f"no common path for {kind}")
        sql = found
    value = "sha256(v)" if hashed else "v"
    with _cursor() as con:
        con.register("raw_table", pa.table({"raw": pa.chunked_array(batches, column_type)}))
        return con.sql(f"SELECT {value} AS v FROM ({sql})").to_arrow_table().column(0)
