"""A GAQL parser for the emulator: the documented grammar, with the parts it does not emulate refused loudly.

Grammar (Google Ads Query Language grammar, https://developers.google.com/google-ads/api/docs/query/grammar)::

    Query -> SELECT FieldName (, FieldName)* FROM ResourceName (WHERE Condition (AND Condition)*)?
             (ORDER BY FieldName (ASC|DESC)? (, ...)*)? (LIMIT PositiveInteger)? (PARAMETERS ...)?

Emulated operators: ``= != > >= < <= IN, NOT IN, LIKE, NOT LIKE, IS NULL, IS NOT NULL``. The other documented ones
(``CONTAINS ANY/ALL/NONE``, ``DURING``, ``BETWEEN``, ``REGEXP_MATCH``) and the ``PARAMETERS`` clause are refused
with a ``GaqlError`` instead of being ignored: a query the emulator cannot answer exactly must fail in tests, never
return unfiltered rows. Each error carries the QueryError code the real API uses for the closest case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Value = str | int | float | None | tuple[Any, ...]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<op>!=|>=|<=|=|>|<)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_FIELD = re.compile(r"^[a-z][a-zA-Z0-9._]*$")
_RESOURCE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_NOT_EMULATED_OPERATORS = {"CONTAINS", "DURING", "BETWEEN", "REGEXP_MATCH"}


class GaqlError(ValueError):
    """A query the emulator refuses; ``code`` is the ``QueryError`` enum name the API answers with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "!=", ">", ">=", "<", "<=", "IN", "NOT IN", "LIKE", "NOT LIKE", "IS NULL", "IS NOT NULL"
    value: Value = None


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    resource: str
    conditions: tuple[Condition, ...]
    limit: int | None
    order_by: tuple[tuple[str, bool], ...] = ()  # (field, descending)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].lstrip()[:1] in ("'", '"'):
                raise GaqlError("STRING_NOT_TERMINATED", "a string literal is not terminated")
            raise GaqlError("BAD_SYMBOL", f"unexpected input at offset {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        """Consume ``words`` (case-insensitive names) if they come next."""
        for offset, word in enumerate(words):
            token = self.peek(offset)
            if token is None or token[0] != "name" or token[1].upper() != word:
                return False
        self.i += len(words)
        return True

    def expect_keyword(self, word: str, code: str) -> None:
        if not self.keyword(word):
            raise GaqlError(code, f"expected {word}")

    def take(self, kind: str, code: str, what: str) -> str:
        token = self.peek()
        if token is None:
            raise GaqlError("UNEXPECTED_END_OF_QUERY", f"expected {what}")
        if token[0] != kind:
            raise GaqlError(code, f"expected {what}, found {token[1]!r}")
        self.i += 1
        return token[1]

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token == ("punct", char):
            self.i += 1
            return True
        return False

    def field(self) -> str:
        name = self.take("name", "BAD_FIELD_NAME", "a field name")
        if not _FIELD.match(name) or "." not in name or name.endswith("."):
            raise GaqlError("BAD_FIELD_NAME", f"{name!r} is not a field name")
        return name

    def scalar(self) -> str | int | float:
        token = self.peek()
        if token is None:
            raise GaqlError("UNEXPECTED_END_OF_QUERY", "expected a value")
        kind, raw = token
        self.i += 1
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", raw[1:-1])
        if kind == "number":
            return float(raw) if "." in raw else int(raw)
        if kind == "name" and re.fullmatch(r"[A-Za-z0-9_]+", raw):
            return raw  # a Literal: enum constants such as SUCCESS
        raise GaqlError("BAD_VALUE", f"{raw!r} is not a value")

    def value_list(self) -> tuple[Any, ...]:
        if not self.punct("("):
            raise GaqlError("EXPECTED_LIST", "IN takes a parenthesised list")
        if self.punct(")"):
            raise GaqlError("PROHIBITED_EMPTY_LIST_IN_CONDITION", "an IN list may not be empty")
        values = [self.scalar()]
        while self.punct(","):
            values.append(self.scalar())
        if not self.punct(")"):
            raise GaqlError("EXPECTED_LIST", "an IN list must end with ')'")
        return tuple(values)

    def condition(self) -> Condition:
        field = self.field()
        token = self.peek()
        if token is None:
            raise GaqlError("UNEXPECTED_END_OF_QUERY", "expected an operator")
        if token[0] == "op":
            self.i += 1
            value = self.scalar()
            return Condition(field, token[1], value)
        if self.keyword("IS", "NOT", "NULL"):
            return Condition(field, "IS NOT NULL")
        if self.keyword("IS", "NULL"):
            return Condition(field, "IS NULL")
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            return Condition(field, "NOT IN" if negated else "IN", self.value_list())
        if self.keyword("LIKE"):
            pattern = self.scalar()
            if not isinstance(pattern, str):
                raise GaqlError("INVALID_VALUE_WITH_LIKE_OPERATOR", "LIKE takes a string")
            return Condition(field, "NOT LIKE" if negated else "LIKE", pattern)
        token = self.peek() or token
        if token[1].upper() in _NOT_EMULATED_OPERATORS:
            raise GaqlError("BAD_OPERATOR", f"operator {token[1]} is not emulated")
        raise GaqlError("BAD_OPERATOR", f"{token[1]!r} is not an operator")

    def parse(self) -> Query:
        if not self.tokens:
            raise GaqlError("UNEXPECTED_END_OF_QUERY", "empty query")
        self.expect_keyword("SELECT", "EXPECTED_SELECT")
        fields = [self.field()]
        while self.punct(","):
            fields.append(self.field())
        self.expect_keyword("FROM", "EXPECTED_FROM")
        resource = self.take("name", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", "a resource name")
        if not _RESOURCE.match(resource):
            raise GaqlError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"{resource!r} is not a resource name")
        conditions: list[Condition] = []
        if self.keyword("WHERE"):
            conditions.append(self.condition())
            while self.keyword("AND"):
                conditions.append(self.condition())
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDER"):
            self.expect_keyword("BY", "EXPECTED_BY")
            while True:
                name = self.field()
                descending = self.keyword("DESC")
                if not descending:
                    self.keyword("ASC")
                order.append((name, descending))
                if not self.punct(","):
                    break
        limit: int | None = None
        if self.keyword("LIMIT"):
            raw = self.take("number", "BAD_LIMIT_VALUE", "a positive integer")
            if not raw.isdigit() or int(raw) < 1:
                raise GaqlError("LIMIT_VALUE_TOO_LOW", "LIMIT must be a positive integer")
            limit = int(raw)
        if self.keyword("PARAMETERS"):
            raise GaqlError("BAD_PARAMETER_NAME", "the PARAMETERS clause is not emulated")
        token = self.peek()
        if token is not None:
            raise GaqlError("UNEXPECTED_INPUT", f"unexpected {token[1]!r} after the query")
        if len(set(fields)) != len(fields):
            raise GaqlError("PROHIBITED_FIELD_COMBINATION_IN_SELECT_CLAUSE", "a field is selected twice")
        return Query(tuple(fields), resource, tuple(conditions), limit, tuple(order))


def parse(text: str) -> Query:
    """Parse one query; raises ``GaqlError`` (with its QueryError code) for anything outside the emulated grammar."""
    return _Parser(text).parse()


def like(value: str, pattern: str) -> bool:
    """GAQL LIKE: ``%`` any run, ``_`` one character, ``[x]`` the literal x (the grammar page's escape rule)."""
    regex = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[" and i + 2 < len(pattern) and pattern[i + 2] == "]":
            regex += re.escape(pattern[i + 1])
            i += 3
            continue
        regex += ".*" if char == "%" else "." if char == "_" else re.escape(char)
        i += 1
    return re.fullmatch(regex, value, re.DOTALL) is not None
