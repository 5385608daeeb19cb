"""Translate a definition's SQL (written once, in DuckDB's dialect) for another engine, parameters still bound.

Why sqlglot: it parses DuckDB SQL into a tree and writes it in PostgreSQL's or Spark's dialect, rewriting what
they lack (``QUALIFY`` becomes a subquery, ``SEMI JOIN`` an ``EXISTS`` where needed). Two things we do ourselves:
DuckDB's ``to_days(n)`` / ``to_hours(n)`` become ``n * INTERVAL '1' DAY`` (both targets subtract such an interval
from a timestamp), and every ``$name`` placeholder is written in the driver's own paramstyle, so values are always
bound by the driver or the engine and never pasted into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from airflow_provider_cio.audiences.errors import AudienceDefinitionError

Dialect = Literal["duckdb", "postgres", "spark"]
# PEP 249 paramstyles, plus Spark's named markers (``:name``, bound by ``spark.sql(args=...)``).
ParamStyle = Literal["qmark", "numeric", "named", "format", "pyformat", "spark"]
_INTERVAL_FUNCTIONS: Final = {"to_days": "DAY", "to_hours": "HOUR", "to_minutes": "MINUTE"}
_MARK: Final = "__cio_param_{}__"
_MARK_RE: Final = re.compile(r"__cio_param_([A-Za-z_][A-Za-z0-9_]*)__")


@dataclass(frozen=True)
class Translated:
    """SQL for one engine and the parameter names in the order a positional paramstyle binds them."""

    sql: str
    order: tuple[str, ...]
    style: ParamStyle

    def bind(self, values: dict[str, Any]) -> dict[str, Any] | list[Any]:
        """What to pass as the driver's parameters: a mapping for named styles, a sequence for positional ones."""
        missing = [n for n in dict.fromkeys(self.order) if n not in values]
        if missing:
            raise AudienceDefinitionError(f"no value bound for parameter(s) {missing}")
        if self.style in ("named", "pyformat", "spark"):
            return {n: values[n] for n in dict.fromkeys(self.order)}
        if self.style == "numeric":
            return [values[n] for n in dict.fromkeys(self.order)]
        return [values[n] for n in self.order]


def translate(sql: str, dialect: Dialect | str, style: ParamStyle | str) -> Translated:
    """``sql`` (DuckDB dialect, ``$name`` parameters) written for ``dialect`` with ``style`` placeholders."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if style not in ("qmark", "numeric", "named", "format", "pyformat", "spark"):
        raise AudienceDefinitionError(f"unknown DB-API paramstyle {style!r}")

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError as exc:
        raise AudienceDefinitionError(
            f"definition SQL does not parse: {str(exc).splitlines()[0][:200]}"
        ) from None

    def interval(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.ToDays):
            unit, args = "DAY", [node.this]
        elif isinstance(node, exp.Anonymous) and str(node.this).lower() in _INTERVAL_FUNCTIONS:
            unit, args = _INTERVAL_FUNCTIONS[str(node.this).lower()], list(node.expressions)
        else:
            return node
        if len(args) != 1:
            raise AudienceDefinitionError("to_days()/to_hours()/to_minutes() take one argument")
        one = exp.Interval(this=exp.Literal.string("1"), unit=exp.var(unit))
        return exp.paren(exp.Mul(this=exp.paren(args[0].copy()), expression=one))

    def placeholder(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            return exp.column(_MARK.format(node.name))
        return node

    tree = tree.transform(interval).transform(placeholder)
    if any(isinstance(p, exp.Placeholder) for p in tree.find_all(exp.Placeholder)):
        raise AudienceDefinitionError("definition SQL uses an unnamed placeholder; use $name parameters")
    text = tree.sql(dialect=dialect)
    if style in ("format", "pyformat"):
        text = text.replace("%", "%%")  # a literal % must not read as a placeholder
    order: list[str] = []

    def marker(match: re.Match[str]) -> str:
        name = match.group(1)
        order.append(name)
        if style == "qmark":
            return "?"
        if style == "format":
            return "%s"
        if style == "pyformat":
            return f"%({name})s"
        if style == "numeric":
            return f":{list(dict.fromkeys(order)).index(name) + 1}"
        return f":{name}"  # named, spark

    # the marker may come back quoted as an identifier ("__cio_param_x__" or `__cio_param_x__`)
    text = re.sub(r"[\"`]?" + _MARK_RE.pattern + r"[\"`]?", marker, text)
    return Translated(text, tuple(order), style)  # type: ignore[arg-type]
