"""A tiny GAQL parser for exactly the query shapes our destination sends.

``SELECT a.b, a.c FROM resource [WHERE field = 'str' | number [AND ...]] [LIMIT n]``. Anything else is refused
with a QUERY_ERROR so an unexpected query shape fails loudly in tests instead of returning nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<resource>[a-z_]+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"\s*(?P<field>[a-z_.]+)\s*=\s*(?:'(?P<sq>(?:[^'\\]|\\.)*)'|\"(?P<dq>(?:[^\"\\]|\\.)*)\"|(?P<num>-?\d+))\s*",
    re.IGNORECASE,
)


class GaqlError(ValueError):
    """The query is not one of the shapes the emulator understands."""


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    resource: str
    conditions: tuple[tuple[str, str | int], ...]
    limit: int | None


def parse(text: str) -> Query:
    match = _QUERY.match(text)
    if not match:
        raise GaqlError("unsupported query shape")
    fields = tuple(f.strip() for f in match.group("fields").split(","))
    conditions: list[tuple[str, str | int]] = []
    where = match.group("where")
    if where:
        for part in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE):
            cond = _CONDITION.fullmatch(part)
            if not cond:
                raise GaqlError("unsupported WHERE condition")
            value: str | int
            if cond.group("num") is not None:
                value = int(cond.group("num"))
            else:
                raw = cond.group("sq") if cond.group("sq") is not None else cond.group("dq")
                value = re.sub(r"\\(.)", r"\1", raw)
            conditions.append((cond.group("field"), value))
    limit = int(match.group("limit")) if match.group("limit") else None
    return Query(fields, match.group("resource"), tuple(conditions), limit)
