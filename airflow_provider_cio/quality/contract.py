"""The data contract model: what a landed partition of one dataset must look like, parsed and validated once.

A contract is plain data (no great_expectations, no duckdb): the gate engine, the GX suite compiler and the report
all read the same ``Contract``. Parsing rejects anything ambiguous with a ``ContractError`` naming the field, so a
typo in a user override fails loudly instead of silently dropping a check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from airflow_provider_cio.landing.shrink import DEFAULT_RERUN_MAX_SHRINK
from airflow_provider_cio.quality.errors import ContractError

SEVERITIES = ("critical", "warning")
COLUMN_TYPES = ("string", "int64", "float64", "bool", "date32[day]", "timestamp[us, tz=UTC]", "list<string>")
CHECK_PARAMS: dict[str, dict[str, bool]] = {
    # kind -> {parameter: required}
    "not_null": {"column": True, "mostly": False},
    "null_rate": {"column": True, "max_null_rate": True},
    "unique": {"column": True},
    "in_set": {"column": True, "values": True, "mostly": False},
    "range": {"column": True, "min": False, "max": False, "mostly": False},
    "regex": {"column": True, "pattern": True, "mostly": False},
    "freshness": {"column": True, "max_lag": True},
    "row_count": {"min": False, "max": False},
    "row_count_trend": {"min_ratio": False, "max_ratio": False, "min_history": False},
    "identity_coverage": {"column": False, "min_share": True},
}
_COMMON_CHECK_KEYS = {"name", "type", "severity", "description"}
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_NON_PORTABLE_REGEX = re.compile(
    r"\(\?[=!<]|\\[1-9]"
)  # lookarounds and backreferences: RE2 (DuckDB) lacks them
_NAME = re.compile(r"^[A-Za-z0-9_:.\-]+$")


@dataclass(frozen=True)
class ColumnSpec:
    """One contracted column; ``required`` means present and never null. ``absent_severity``: how the gate treats
    the source not carrying the column (its values unknown for that landing; landed as nulls or kept from prior
    rows): ``warning`` by default, ``critical`` for a column whose loss would quietly shrink what audiences can
    match or suppress (an identifier of the suppression lists)."""

    name: str
    type: str
    required: bool = False
    absent_severity: str = "warning"


@dataclass(frozen=True, eq=True)
class CheckSpec:
    """One check: a named rule with a severity (``critical`` blocks, ``warning`` reports)."""

    name: str
    kind: str
    severity: str
    column: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    description: str = ""

    @property
    def mostly(self) -> float:
        return float(self.params.get("mostly", 1.0))


@dataclass(frozen=True)
class Contract:
    """A versioned data contract for one dataset; ``source`` says where it was read from (for messages)."""

    dataset: str
    version: str
    columns: tuple[ColumnSpec, ...]
    checks: tuple[CheckSpec, ...]
    primary_key: str | None = None
    identity_column: str | None = None
    description: str = ""
    source: str = "<memory>"
    # share of a committed partition's rows a rerun may lose before the landing refuses to replace it
    rerun_max_shrink: float = DEFAULT_RERUN_MAX_SHRINK

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> ColumnSpec | None:
        return next((column for column in self.columns if column.name == name), None)

    def check(self, name: str) -> CheckSpec:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)


def parse_duration(text: str) -> timedelta:
    """``"90m"``, ``"6h"``, ``"2d"`` -> timedelta; anything else raises ``ValueError``."""
    match = _DURATION.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like '30m', '6h' or '2d'")
    return timedelta(**{_DURATION_UNITS[match[2]]: int(match[1])})


def parse_contract(data: Any, source: str = "<memory>") -> Contract:
    """Validate a loaded YAML document and build the ``Contract`` (implicit checks first, then explicit ones)."""
    if not isinstance(data, Mapping):
        raise ContractError(source, "<document>", "expected a mapping at the top level")
    _reject_unknown(
        data,
        {
            "dataset",
            "version",
            "description",
            "columns",
            "primary_key",
            "identity_column",
            "checks",
            "rerun_max_shrink",
        },
        "",
        source,
    )
    dataset = _required_str(data, "dataset", source)
    version = _required_str(data, "version", source)
    if not _VERSION.match(version):
        raise ContractError(
            source, "version", f"{version!r} is not a semantic version like '1.0.0' (quote it)"
        )
    columns = _parse_columns(data.get("columns"), source)
    names = {column.name for column in columns}
    primary_key = data.get("primary_key")
    if primary_key is not None and primary_key not in names:
        raise ContractError(source, "primary_key", f"{primary_key!r} is not a declared column")
    identity_column = data.get("identity_column")
    if identity_column is not None and identity_column not in names:
        raise ContractError(source, "identity_column", f"{identity_column!r} is not a declared column")

    checks: list[CheckSpec] = []
    for column in columns:
        checks.append(CheckSpec(f"exists:{column.name}", "exists", "critical", column.name))
    for column in columns:
        if column.required:
            checks.append(CheckSpec(f"not_null:{column.name}", "not_null", "critical", column.name))
    if primary_key is not None:
        checks.append(CheckSpec(f"unique:{primary_key}", "unique", "critical", primary_key))

    raw_checks = data.get("checks") or []
    if not isinstance(raw_checks, list):
        raise ContractError(source, "checks", "expected a list of checks")
    types = {column.name: column.type for column in columns}
    for index, raw in enumerate(raw_checks):
        check = _parse_check(raw, f"checks[{index}]", names, identity_column, source)
        _check_column_type(check, types, f"checks[{index}]", source)
        checks.append(check)
    seen: set[str] = set()
    for check in checks:
        if check.name in seen:
            raise ContractError(source, "checks", f"two checks are named {check.name!r}; give one a 'name'")
        seen.add(check.name)
    return Contract(
        dataset=dataset,
        version=version,
        columns=tuple(columns),
        checks=tuple(checks),
        primary_key=primary_key,
        identity_column=identity_column,
        description=str(data.get("description") or ""),
        source=source,
        rerun_max_shrink=_share(data, "rerun_max_shrink", DEFAULT_RERUN_MAX_SHRINK, source),
    )


def _share(data: Mapping[str, Any], key: str, default: float, source: str) -> float:
    """A number between 0 and 1 (``rerun_max_shrink: 0.1`` lets a rerun lose a tenth of the committed rows)."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ContractError(source, key, f"expected a share between 0 and 1, got {value!r}")
    return float(value)


def _parse_columns(raw: Any, source: str) -> list[ColumnSpec]:
    if not isinstance(raw, list) or not raw:
        raise ContractError(source, "columns", "expected a non-empty list of {name, type, required}")
    columns: list[ColumnSpec] = []
    for index, item in enumerate(raw):
        where = f"columns[{index}]"
        if not isinstance(item, Mapping):
            raise ContractError(source, where, "expected a mapping with name, type and required")
        _reject_unknown(item, {"name", "type", "required", "absent_severity", "description"}, where, source)
        name = _required_str(item, "name", source, where)
        kind = _required_str(item, "type", source, where)
        if kind not in COLUMN_TYPES:
            raise ContractError(
                source, f"{where}.type", f"unknown type {kind!r}; one of {', '.join(COLUMN_TYPES)}"
            )
        required = item.get("required", False)
        if not isinstance(required, bool):
            raise ContractError(source, f"{where}.required", f"expected true or false, got {required!r}")
        absent_severity = item.get("absent_severity", "warning")
        if absent_severity not in SEVERITIES:
            raise ContractError(
                source,
                f"{where}.absent_severity",
                f"{absent_severity!r} is not one of {', '.join(SEVERITIES)}",
            )
        if any(column.name == name for column in columns):
            raise ContractError(source, f"{where}.name", f"column {name!r} is declared twice")
        columns.append(ColumnSpec(name, kind, required, absent_severity))
    return columns


def _parse_check(
    raw: Any, where: str, columns: set[str], identity_column: str | None, source: str
) -> CheckSpec:
    if not isinstance(raw, Mapping):
        raise ContractError(source, where, "expected a mapping with at least 'type'")
    kind = _required_str(raw, "type", source, where)
    if kind not in CHECK_PARAMS:
        raise ContractError(
            source, f"{where}.type", f"unknown check type {kind!r}; one of {', '.join(CHECK_PARAMS)}"
        )
    allowed = CHECK_PARAMS[kind]
    _reject_unknown(raw, set(allowed) | _COMMON_CHECK_KEYS, where, source)
    for key, required in allowed.items():
        if required and raw.get(key) is None:
            raise ContractError(source, f"{where}.{key}", f"a {kind} check needs {key!r}")
    severity = raw.get("severity", "critical")
    if severity not in SEVERITIES:
        raise ContractError(
            source, f"{where}.severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}"
        )

    column = raw.get("column")
    if kind == "identity_coverage" and column is None:
        column = identity_column
        if column is None:
            raise ContractError(
                source, f"{where}.column", "no column and the contract has no identity_column"
            )
    if column is not None and column not in columns:
        raise ContractError(source, f"{where}.column", f"{column!r} is not a declared column")

    params = {key: raw[key] for key in allowed if key != "column" and raw.get(key) is not None}
    _validate_params(kind, params, where, source)
    name = raw.get("name") or (f"{kind}:{column}" if column else kind)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ContractError(source, f"{where}.name", f"{name!r}: use letters, digits and _ : . -")
    return CheckSpec(name, kind, severity, column, params, str(raw.get("description") or ""))


_NUMERIC = ("int64", "float64")
_KIND_COLUMN_TYPES = {"range": _NUMERIC, "regex": ("string",), "freshness": ("timestamp[us, tz=UTC]",)}


def _check_column_type(check: CheckSpec, types: dict[str, str], where: str, source: str) -> None:
    """Reject checks that cannot mean anything on their column's type (e.g. a regex on an integer)."""
    if check.column is None:
        return
    column_type = types[check.column]
    allowed = _KIND_COLUMN_TYPES.get(check.kind)
    if allowed is not None and column_type not in allowed:
        raise ContractError(
            source,
            f"{where}.column",
            f"a {check.kind} check needs a {' or '.join(allowed)} column, not {column_type}",
        )
    if check.kind == "in_set":
        want: type | tuple[type, ...] = str if column_type == "string" else (int, float)
        if column_type not in ("string", *_NUMERIC) or not all(
            isinstance(v, want) for v in check.params["values"]
        ):
            raise ContractError(source, f"{where}.values", f"values do not match the {column_type} column")


def _validate_params(kind: str, params: dict[str, Any], where: str, source: str) -> None:
    for key in ("mostly", "max_null_rate", "min_share"):
        if key in params:
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ContractError(
                    source, f"{where}.{key}", f"expected a fraction between 0 and 1, got {value!r}"
                )
            params[key] = float(value)
    if kind == "in_set":
        values = params["values"]
        if not isinstance(values, list) or not values:
            raise ContractError(source, f"{where}.values", "expected a non-empty list")
        if not all(isinstance(value, str | int | float) and not isinstance(value, bool) for value in values):
            raise ContractError(source, f"{where}.values", "values must be strings or numbers")
        params["values"] = list(values)
    if kind in ("range", "row_count"):
        if "min" not in params and "max" not in params:
            raise ContractError(source, where, f"a {kind} check needs 'min', 'max' or both")
        for key in ("min", "max"):
            value = params.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ContractError(source, f"{where}.{key}", f"expected a number, got {value!r}")
        if "min" in params and "max" in params and params["min"] > params["max"]:
            raise ContractError(source, where, f"min {params['min']} is greater than max {params['max']}")
    if kind == "regex":
        pattern = params["pattern"]
        if not isinstance(pattern, str):
            raise ContractError(source, f"{where}.pattern", "expected a string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ContractError(source, f"{where}.pattern", f"invalid regular expression: {exc}") from None
        if _NON_PORTABLE_REGEX.search(pattern):
            raise ContractError(
                source,
                f"{where}.pattern",
                "lookarounds and backreferences are not supported (RE2 syntax only)",
            )
    if kind == "freshness":
        try:
            params["max_lag"] = parse_duration(params["max_lag"])
        except ValueError as exc:
            raise ContractError(source, f"{where}.max_lag", str(exc)) from None
    if kind == "row_count_trend":
        params.setdefault("min_ratio", 0.5)
        params.setdefault("max_ratio", 3.0)
        params.setdefault("min_history", 3)
        for key in ("min_ratio", "max_ratio"):
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ContractError(
                    source, f"{where}.{key}", f"expected a non-negative number, got {value!r}"
                )
        if params["min_ratio"] > params["max_ratio"]:
            raise ContractError(source, where, "min_ratio is greater than max_ratio")
        history = params["min_history"]
        if isinstance(history, bool) or not isinstance(history, int) or history < 1:
            raise ContractError(
                source, f"{where}.min_history", f"expected a positive integer, got {history!r}"
            )


def _required_str(data: Mapping[str, Any], key: str, source: str, where: str = "") -> str:
    value = data.get(key)
    field_name = f"{where}.{key}" if where else key
    if value is None:
        raise ContractError(source, field_name, "is required")
    if not isinstance(value, str) or not value:
        raise ContractError(source, field_name, f"expected a non-empty string, got {value!r}")
    return value


def _reject_unknown(data: Mapping[str, Any], allowed: set[str], where: str, source: str) -> None:
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        field_name = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ContractError(source, field_name, f"unknown key; allowed: {', '.join(sorted(allowed))}")
