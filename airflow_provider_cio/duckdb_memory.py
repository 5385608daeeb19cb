"""A bounded memory budget for the embedded DuckDB sessions (audience builds, the quality gate).

Why: DuckDB's default limit is 80% of the machine's memory, and its buffer manager keeps what it allocated up to that
limit, so a 10M-people build on a 24 GiB worker grew its process far past what the work needs, beside Airflow's other
tasks. Under a limit DuckDB spills joins, aggregates and sorts to its temp directory instead (out-of-core), so the
answer is the same and only the memory differs. A machine whose default is already lower keeps its default (DuckDB
reads cgroup limits itself).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import duckdb

# Enough for the reference audiences and the deliveries gate at 10M people without spilling most of the work; the
# process around DuckDB (Arrow results, identity hashing) needs its own few GiB.
DEFAULT_LIMIT_BYTES: Final = 3 * 1024**3
_UNITS: Final = {
    "bytes": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE: Final = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$")


def parse_size(text: str) -> int | None:
    """DuckDB's size text (``18.8 GiB``, ``3.0 GB``, ``512 bytes``) in bytes; None when it is not a size."""
    match = _SIZE.match(text)
    if not match or match.group(2).lower() not in _UNITS:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def bound_memory(
    con: duckdb.DuckDBPyConnection,
    *,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
    default_bytes: int = DEFAULT_LIMIT_BYTES,
) -> None:
    """Set ``memory_limit`` when given, else lower DuckDB's default to ``default_bytes`` (never raise it); spill to
    ``temp_directory`` when given. Each statement is finished here: nothing is left pending on ``con``."""
    if temp_directory is not None:
        escaped = temp_directory.replace("'", "''")
        con.execute(f"SET temp_directory = '{escaped}'").fetchall()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'").fetchall()
        return
    rows = con.execute("SELECT current_setting('memory_limit')").fetchall()
    current = parse_size(str(rows[0][0])) if rows else None
    if current is None or current > default_bytes:
        con.execute(f"SET memory_limit = '{default_bytes}B'").fetchall()
