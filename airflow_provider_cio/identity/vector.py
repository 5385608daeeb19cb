"""Emails and phones of the common shapes normalized and hashed column at a time in DuckDB, the rest in Python.

Why: per value, Python normalization (about 0.6 us per email, 1.0 us per phone) costs more than ``hashlib``'s whole
hash, and DuckDB's ``sha256()`` takes about 0.6x hashlib's CPU per value, vectorised, on every core DuckDB is given.
So a column goes through one SQL expression that, for the shapes people usually type (ASCII, well-formed, a known
calling code, nothing a rule might refuse), returns exactly what the per-value normalizer returns, and NULL for
everything else. The caller sends every NULL row to the per-value normalizer (``registry.normalizer_for``), so a
refused row keeps its reason and its count, and a borderline row (non-ASCII, ``xn--``, ``(0)`` in odd places, a
placeholder-looking or fictional-range number, an unknown calling code, a wrong length) is decided by the one
implementation of the rules. The SQL only ever decides "kept, with this value": it never refuses a row itself. The
property tests hold it to the per-value rules for generated values.

Whitespace: DuckDB's ``trim`` removes spaces only, Python's ``strip`` every ASCII whitespace; a value padded with
anything else keeps it here, fails the shape check and goes to Python.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Final

from airflow_provider_cio.identity.countries import (
    KNOWN_CALLING_CODES,
    NANP_CODE,
    NANP_NATIONAL_DIGITS,
    TRUNK_ZERO_CODES,
    calling_code_for,
)
from airflow_provider_cio.identity.kinds import EMAIL, GOOGLE, META, PHONE
from airflow_provider_cio.identity.phone import MAX_DIGITS, MIN_DIGITS
from airflow_provider_cio.identity.placeholders import (
    FICTIONAL_PREFIXES_BY_LENGTH,
    NANP_FICTIONAL_EXCHANGE_LINE,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

# email._EMAIL on ASCII text in RE2 syntax (DuckDB's regexp functions are RE2): no possessive quantifiers, and
# Python's ``\s`` spelled out (RE2's ``\s`` lacks \x0b and U+001C..U+001F).
_NOT_AT_OR_SPACE: Final = r"[^@\t\n\x0b\x0c\r\x1c-\x1f ]"
_NOT_AT_DOT_OR_SPACE: Final = r"[^@.\t\n\x0b\x0c\r\x1c-\x1f ]"
EMAIL_RE2: Final = rf"^{_NOT_AT_OR_SPACE}+@{_NOT_AT_DOT_OR_SPACE}+(?:\.{_NOT_AT_DOT_OR_SPACE}+)+$"
# phone._SEPARATORS, removed one replace() at a time (cheaper in DuckDB than translate() or a regexp_replace)
_PHONE_SEPARATORS: Final = (" ", "-", ".", "(", ")", "/", "\t")
# The digit runs of phone._PLACEHOLDERS (1234567890..., 9876543210...)
_RUNS: Final = ("123456789012345", "987654321098765")
# DuckDB hands each Arrow batch of a registered table to one thread; a column arriving as one chunk (the usual case)
# would run on one core. Slices of this many rows keep both cores busy (measured at 1M: phones 0.23 s -> 0.13 s).
SCAN_ROWS: Final = 32_768


def _quoted(values: frozenset[str] | tuple[str, ...]) -> str:
    """A SQL list of digit strings and codes (never anything that needs escaping)."""
    return ", ".join(f"'{v}'" for v in sorted(values))


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


def _runs(digits: str) -> str:
    """True where ``digits`` starts a 1234.../9876... run (over-approximates those placeholders)."""
    return " OR ".join(f"starts_with('{run}', {digits})" for run in _RUNS)


def _placeholder(digits: str) -> str:
    """True where ``digits`` may be in phone._PLACEHOLDERS (one digit repeated, or the start of a 1234.../9876...
    run): over-approximated, those rows go to Python."""
    return f"(regexp_full_match({digits}, '0+|1+|2+|3+|4+|5+|6+|7+|8+|9+') OR {_runs(digits)})"


def _without_separators(column: str) -> str:
    """``(0)`` then every separator removed; no trim: a space is a separator, other padding fails the digit check."""
    text = f"replace({column}, '(0)', '')"
    for separator in _PHONE_SEPARATORS:
        quoted = "chr(9)" if separator == "\t" else f"'{separator}'"
        text = f"replace({text}, {quoted}, '')"
    return text


def _code_sql(digits: str) -> str:
    """The table's calling code at the start of international digits ('' if none): codes are prefix-free."""
    by_size: dict[int, list[str]] = {}
    for code in KNOWN_CALLING_CODES:
        by_size.setdefault(len(code), []).append(code)
    whens = " ".join(
        f"WHEN left({digits}, {size}) IN ({_quoted(tuple(codes))}) THEN left({digits}, {size})"
        for size, codes in sorted(by_size.items())
    )
    return f"CASE {whens} ELSE '' END"


def _fictional_sql(code: str, national: str) -> str:
    """True for a national number in placeholders.FICTIONAL_PREFIXES_BY_LENGTH (placeholders.is_fictional); the
    prefixes are looked at only for the codes that have some."""
    terms = []
    for calling_code, lengths in sorted(FICTIONAL_PREFIXES_BY_LENGTH.items()):
        for length, prefixes in sorted(lengths.items()):
            starts = " OR ".join(f"starts_with({national}, '{p}')" for p in prefixes)
            terms.append(f"({code} = '{calling_code}' AND length({national}) = {length} AND ({starts}))")
    if not terms:
        return "false"
    return f"CASE WHEN {code} IN ({_quoted(frozenset(FICTIONAL_PREFIXES_BY_LENGTH))}) THEN {' OR '.join(terms)} ELSE false END"


def _phone_sql(platform: str, default_country: str | None, source: str) -> str:
    """phone.make_phone_normalizer's kept branch; every refusal (and anything close to one) is NULL.

    No ASCII check: a kept row is digits, ``+`` and ASCII separators only, on which Python's ``strip`` removes
    nothing but separators.
    """
    default = calling_code_for(default_country)
    default_code = default.code if default else ""
    trunk = default.trunk if default else ""
    stripped = f"SELECT {_without_separators('raw')} AS r FROM {source}"
    split = (
        "SELECT starts_with(r, '+') OR starts_with(r, '00') AS intl, "
        "CASE WHEN starts_with(r, '+') THEN substr(r, 2) WHEN starts_with(r, '00') THEN substr(r, 3) "
        f"ELSE r END AS d FROM ({stripped})"
    )
    coded = f"SELECT *, CASE WHEN intl THEN {_code_sql('d')} ELSE '{default_code}' END AS c FROM ({split})"
    if default_code == NANP_CODE:
        national_digits = (
            f"CASE WHEN length(d) = {NANP_NATIONAL_DIGITS + 1} AND d[1] = '1' THEN substr(d, 2) ELSE d END"
        )
    elif trunk:
        national_digits = f"CASE WHEN starts_with(d, '{trunk}') THEN substr(d, {len(trunk) + 1}) ELSE d END"
    else:
        national_digits = "d"
    after_code = (
        f"CASE WHEN c IN ({_quoted(TRUNK_ZERO_CODES)}) AND starts_with(d, c || '0') "
        "THEN substr(d, length(c) + 2) ELSE substr(d, length(c) + 1) END"
    )
    split_off = f"SELECT *, CASE WHEN intl THEN {after_code} ELSE {national_digits} END AS nat FROM ({coded})"
    nanp = (
        f"(c = '{NANP_CODE}' AND (length(nat) <> {NANP_NATIONAL_DIGITS} OR nat[1] IN ('0', '1') "
        f"OR substr(nat, 4, 5) = '{NANP_FICTIONAL_EXCHANGE_LINE}'))"
    )
    # digits that start a 1234.../9876... run may be a placeholder before the code is split off (one digit repeated
    # stays one digit repeated in the national part, checked there)
    shape = f"regexp_full_match(d, '[0-9]+') AND NOT ({_runs('d')}) AND NOT (intl AND d[1] = '0') AND c <> ''"
    size = "length(c) + length(nat)"
    refused_or_close = (
        f"{size} < {MIN_DIGITS} OR {size} > {MAX_DIGITS} OR {_placeholder('nat')} "
        f"OR {nanp} OR {_fictional_sql('c', 'nat')}"
    )
    kept = "'+' || c || nat" if platform == GOOGLE else "c || nat"
    return f"SELECT CASE WHEN {shape} AND NOT ({refused_or_close}) THEN {kept} END AS v FROM ({split_off})"


def common_sql(kind: str, platform: str, default_country: str | None, source: str) -> str | None:
    """A query over ``source`` (a table with a text column ``raw``) giving one column ``v`` in row order: the
    normalized value where the common path decides it, else NULL. ``None`` for a kind without a common path."""
    if kind == EMAIL:
        return _email_sql(platform, source)
    if kind == PHONE:
        return _phone_sql(platform, default_country, source)
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
    """Per row: the hash (or normalized value) where the common path decides it, else null (Python decides)."""
    import pyarrow as pa

    sql = common_sql(kind, platform, default_country, "raw_table")
    if sql is None:
        raise ValueError(f"no common path for {kind}")
    value = "sha256(v)" if hashed else "v"
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    batches = [chunk.slice(start, SCAN_ROWS) for chunk in chunks for start in range(0, len(chunk), SCAN_ROWS)]
    with _cursor() as con:
        con.register("raw_table", pa.table({"raw": pa.chunked_array(batches, text.type)}))
        return con.sql(f"SELECT {value} AS v FROM ({sql})").to_arrow_table().column(0)
