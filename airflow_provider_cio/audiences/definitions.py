"""Declarative audience definitions: a name, a SQL template, explicit typed parameters, and what it reads.

Why YAML + SQL: the retention team reads and reviews SQL, and intent windows ("viewed 2+ times in 3 days") must be
parameters with defaults a run can override, never numbers buried in a query. The SQL uses DuckDB named parameters
(``$as_of``, ``$purchase_window_days``): values are bound by the engine, never pasted into the text, so an override
cannot inject SQL. ``$as_of`` (the partition's interval end, exclusive) is always bound by the builder.

The reference definitions ship in ``definitions/*.yaml``; a user directory given to ``load_definition`` is searched
first, so a team can override one by dropping a file of the same name there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from airflow_provider_cio.audiences.errors import AudienceDefinitionError

PACKAGE_DEFINITIONS: Final = Path(__file__).with_name("definitions")
RESERVED_PARAMETERS: Final = frozenset({"as_of"})
ParameterType = Literal["int", "float", "str", "bool", "int_list", "str_list"]
Purpose = Literal["ad", "suppression"]
_PARAM_REF: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Parameter:
    """One explicit parameter of a definition, with its default and a one-line meaning."""

    name: str
    type: ParameterType
    default: Any
    doc: str = ""

    def coerce(self, value: Any) -> Any:
        """The value in this parameter's type; a wrong type is a configuration error naming the parameter."""
        try:
            if self.type == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise TypeError
                return int(value)
            if self.type == "float":
                if isinstance(value, bool):
                    raise TypeError
                return float(value)
            if self.type == "bool":
                if not isinstance(value, bool):
                    raise TypeError
                return value
            if self.type == "str":
                if not isinstance(value, str):
                    raise TypeError
                return value
            if self.type in ("int_list", "str_list"):
                if isinstance(value, str | bytes) or not isinstance(value, Sequence):
                    raise TypeError
                item = int if self.type == "int_list" else str
                return [item(v) for v in value]
        except (TypeError, ValueError):
            pass
        raise AudienceDefinitionError(
            f"parameter {self.name!r} expects {self.type}, got {type(value).__name__}"
        )


@dataclass(frozen=True)
class Window:
    """The rows of a table a definition can see: ``column`` before as_of and, when ``days`` is set (a number or
    the name of an int parameter), not before as_of minus that many days. A warehouse read takes only these rows."""

    column: str
    days: int | str | None = None

    def lookback(self, values: Mapping[str, Any]) -> int | None:
        if self.days is None or isinstance(self.days, int):
            return self.days
        return int(values[self.days])


@dataclass(frozen=True)
class AudienceDefinition:
    """What an audience is. ``requires`` maps each input table to the columns the SQL reads (checked up front)."""

    name: str
    description: str
    sql: str
    version: str = "1"
    purpose: Purpose = "ad"
    parameters: tuple[Parameter, ...] = ()
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exclude_holdout: bool = True
    outputs: tuple[str, ...] = ("customer_id",)
    windows: Mapping[str, Window] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise AudienceDefinitionError(
                f"audience name {self.name!r}: use lowercase letters, digits and '_'"
            )
        if self.purpose not in ("ad", "suppression"):
            raise AudienceDefinitionError(f"audience {self.name}: purpose must be 'ad' or 'suppression'")
        declared = {p.name for p in self.parameters}
        reserved = declared & RESERVED_PARAMETERS
        if reserved:
            raise AudienceDefinitionError(
                f"audience {self.name}: parameter name(s) reserved: {sorted(reserved)}"
            )
        undeclared = set(self.referenced_parameters()) - declared - RESERVED_PARAMETERS
        if undeclared:
            raise AudienceDefinitionError(
                f"audience {self.name}: SQL uses undeclared parameter(s) {sorted(undeclared)}; declare them"
            )
        if "customer_id" not in self.outputs:
            raise AudienceDefinitionError(f"audience {self.name}: outputs must include customer_id")
        for p in self.parameters:
            p.coerce(p.default)
        for table, columns in self.requires.items():
            odd = [c for c in (table, *columns) if not _IDENTIFIER.match(c)]
            if odd:  # they are quoted into SQL on every engine: plain identifiers only
                raise AudienceDefinitionError(
                    f"audience {self.name}: requires names {odd} are not plain identifiers ([A-Za-z_][A-Za-z0-9_]*)"
                )
        ints = {p.name for p in self.parameters if p.type == "int"}
        for table, window in self.windows.items():
            if window.column not in self.requires.get(table, ()):
                raise AudienceDefinitionError(
                    f"audience {self.name}: window of {table!r} on {window.column!r}, which requires does not list"
                )
            if isinstance(window.days, str) and window.days not in ints:
                raise AudienceDefinitionError(
                    f"audience {self.name}: window of {table!r}: days {window.days!r} is not an int parameter"
                )
            if isinstance(window.days, int) and (isinstance(window.days, bool) or window.days < 1):
                raise AudienceDefinitionError(f"audience {self.name}: window of {table!r}: days must be >= 1")

    def referenced_parameters(self) -> list[str]:
        """Parameter names the SQL binds, in first-use order."""
        return list(dict.fromkeys(_PARAM_REF.findall(self.sql)))

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults with ``overrides`` applied and type-checked; an unknown override name is an error."""
        by_name = {p.name: p for p in self.parameters}
        unknown = set(overrides or {}) - set(by_name)
        if unknown:
            raise AudienceDefinitionError(
                f"audience {self.name}: unknown parameter(s) {sorted(unknown)}; known: {sorted(by_name)}"
            )
        values = {p.name: p.coerce(p.default) for p in self.parameters}
        for name, value in (overrides or {}).items():
            values[name] = by_name[name].coerce(value)
        return values

    @property
    def fingerprint(self) -> str:
        """Short hash of everything that changes the result: recorded in each snapshot next to ``version``."""
        body = {
            "name": self.name,
            "version": self.version,
            "sql": self.sql,
            "purpose": self.purpose,
            "exclude_holdout": self.exclude_holdout,
            "parameters": [[p.name, p.type, p.default] for p in self.parameters],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def has_tier(self) -> bool:
        return "tier" in self.outputs

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str = "<mapping>") -> AudienceDefinition:
        """Build from parsed YAML; errors name the source file and the field."""
        try:
            params = tuple(
                Parameter(
                    name=str(name),
                    type=spec.get("type", "int"),
                    default=spec["default"],
                    doc=str(spec.get("doc", "")),
                )
                for name, spec in (raw.get("parameters") or {}).items()
            )
            requires = {
                str(t): tuple(str(c) for c in cols) for t, cols in (raw.get("requires") or {}).items()
            }
            windows = {
                str(t): Window(column=str(w["column"]), days=w.get("days"))
                for t, w in (raw.get("windows") or {}).items()
            }
            return cls(
                name=str(raw["name"]),
                description=str(raw.get("description", "")).strip(),
                sql=str(raw["sql"]),
                version=str(raw.get("version", "1")),
                purpose=raw.get("purpose", "ad"),
                parameters=params,
                requires=requires,
                exclude_holdout=bool(raw.get("exclude_holdout", True)),
                outputs=tuple(raw.get("outputs") or ("customer_id",)),
                windows=windows,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise AudienceDefinitionError(
                f"audience definition {source}: missing or malformed field ({exc})"
            ) from None

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<yaml>") -> AudienceDefinition:
        import yaml

        raw = yaml.safe_load(text)
        if not isinstance(raw, Mapping):
            raise AudienceDefinitionError(
                f"audience definition {source}: expected a mapping at the top level"
            )
        return cls.from_mapping(raw, source=source)


def _search_path(extra_dirs: Sequence[str | Path]) -> list[Path]:
    return [Path(d) for d in extra_dirs] + [PACKAGE_DEFINITIONS]


def load_definition(name: str, *, search_dirs: Sequence[str | Path] = ()) -> AudienceDefinition:
    """The definition ``{name}.yaml``, from the first of ``search_dirs`` that has it, else the shipped one."""
    for directory in _search_path(search_dirs):
        path = directory / f"{name}.yaml"
        if path.is_file():
            definition = AudienceDefinition.from_yaml(path.read_text(encoding="utf-8"), source=str(path))
            if definition.name != name:
                raise AudienceDefinitionError(
                    f"{path}: file name and definition name {definition.name!r} differ"
                )
            return definition
    known = ", ".join(available_definitions(search_dirs=search_dirs))
    raise AudienceDefinitionError(f"no audience definition named {name!r}; available: {known}")


def available_definitions(*, search_dirs: Sequence[str | Path] = ()) -> list[str]:
    """Names of every definition on the search path (user directories shadow shipped ones)."""
    names: set[str] = set()
    for directory in _search_path(search_dirs):
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.yaml"))
    return sorted(names)


REFERENCE_AUDIENCES: Final[tuple[str, ...]] = (
    "suppress_recent_purchasers",
    "engaged_clickers_14d",
    "viewed_twice_no_purchase",
    "high_intent_unresponsive_carts",
    "reactivation_tiers",
)
