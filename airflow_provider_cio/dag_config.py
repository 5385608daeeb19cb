"""The reference DAGs' configuration: one YAML file (``CIO_DAG_CONFIG`` or ``dags/config/cio.yaml``).

Parsed at DAG-parse time, so it stays cheap: PyYAML only, no connections, no network. Every section is a frozen
dataclass that holds its defaults (the one home of each) and checks its ranges in ``__post_init__``; the reader
type-checks each key and refuses unknown ones, so a typo fails in the DAG's import error naming the key, e.g.
``cio.yaml: audiences.definitions.cart.mode: 'mirorr' is not one of upsert, mirror, replace``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from airflow_provider_cio.errors import CioError, ErrorClass
from airflow_provider_cio.sync.plan import SyncMode


class Platform(StrEnum):
    """Where an audience syncs; each needs a connection of the same name in ``connections``."""

    META = "meta"
    GOOGLE = "google"


# the sync core's modes (SyncMode is the sync core's: the DAG parse imports the sync package anyway)
SYNC_MODES = tuple(mode.value for mode in SyncMode)
SOURCES = ("app_api", "dataout")
# what a sync does when a guard would block it (airflow_provider_cio.sync.approval.ON_GUARD; a test keeps them equal):
# ask on-call in the UI (Required Actions), fail the task, or skip the sync
ON_GUARD = ("approve", "fail", "skip")
APPROVAL_TIMEOUT_MINUTES = (0.5, 7 * 24 * 60.0)  # how long an approval request may wait (bounds)
# datasets the App API lands by the hour (cio_cart_recovery): the time-filtered ones
HOURLY_DATASETS = ("events", "deliveries")


class DagConfigError(CioError, ValueError):
    """The DAG config is unreadable or a key is missing, mistyped or out of range; ``key`` is its dotted path."""

    error_class = ErrorClass.CONFIGURATION

    def __init__(self, message: str, *, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class _Invalid(ValueError):
    """Raised by a section's ``__post_init__``: ``key`` (relative to the section) and what is wrong with it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _in_range(key: str, value: float, low: float | None = None, high: float | None = None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (
            f"between {low} and {high}"
            if low is not None and high is not None
            else (f"at least {low}" if low is not None else f"at most {high}")
        )
        raise _Invalid(key, f"{value!r} is out of range: must be {bounds}")


def _one_of(key: str, value: str, allowed: typing.Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise _Invalid(key, f"{value!r} is not one of {', '.join(allowed)}")


def _all_of(key: str, values: typing.Iterable[str], allowed: typing.Iterable[str]) -> None:
    allowed = tuple(allowed)
    for value in values:
        if value not in allowed:
            raise _Invalid(key, f"{value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class ExportConfig:
    """``export``: how cio_export lands Customer.io data."""

    source: str = "app_api"
    datasets: tuple[str, ...] = ("people", "deliveries", "metrics", "events")
    dataout_container: str = "customerio-dataout"
    dataout_prefix: str = ""
    # Journeys data-out people carry no consent column: their ad consent, stated, never assumed (see the runbook)
    dataout_ad_consent: bool = False
    max_rejected_rate: float = 0.01
    deferrable: bool = False
    poll_interval: float = 10.0
    listing_page_limit: int = 100
    pool: str | None = None
    deadline_hours: float = 0.0
    deadline_webhook_env: str = ""
    # minutes after a day ends before its land tasks read it: Customer.io's data-out lags (files about every
    # 15 minutes, large syncs later); a run for a day that ended longer ago does not wait
    settle_minutes: float = 60.0

    def __post_init__(self) -> None:
        from airflow_provider_cio.datasets import DATASET_COLUMNS

        _one_of("source", self.source, SOURCES)
        _all_of("datasets", self.datasets, DATASET_COLUMNS)
        if not self.datasets:
            raise _Invalid("datasets", "is empty: list at least one dataset")
        _in_range("max_rejected_rate", self.max_rejected_rate, 0.0, 1.0)
        _in_range("poll_interval", self.poll_interval, 0.1)
        _in_range("listing_page_limit", self.listing_page_limit, 1)
        _in_range("deadline_hours", self.deadline_hours, 0.0)
        _in_range("settle_minutes", self.settle_minutes, 0.0, 23 * 60.0)


@dataclass(frozen=True)
class CartRecoveryConfig:
    """``cart_recovery``: the hourly DAG's datasets and the audiences it rebuilds."""

    datasets: tuple[str, ...] = HOURLY_DATASETS
    audiences: tuple[str, ...] = ()
    # minutes after an hour ends before its land tasks read it
    settle_minutes: float = 10.0

    def __post_init__(self) -> None:
        _all_of("datasets", self.datasets, HOURLY_DATASETS)
        _in_range("settle_minutes", self.settle_minutes, 0.0, 59.0)


@dataclass(frozen=True)
class RealtimeConfig:
    """``realtime``: what the webhook receiver's landed ``webhook_events`` feed besides ``cio_realtime``."""

    # every build of the cart and suppression audiences (cio_cart_recovery, cio_audiences) reads the webhook
    # micro-batches landed within its lookback, as cio_realtime does, so the three DAGs agree on who converted.
    # Nothing landed (no receiver deployed): nothing changes. false: only cio_realtime reads them, and a person
    # who converted in the hour re-enters the cart audience through the hourly DAG until the next batch
    webhook_inputs: bool = True


@dataclass(frozen=True)
class HoldoutConfig:
    """``holdout``: the program whose share of customers never enters its ad audiences (``HoldoutPolicy``)."""

    program: str = "paid_retention"
    salt: str = ""
    share: float = 0.10

    def __post_init__(self) -> None:
        if not self.program.strip():
            raise _Invalid("program", "is empty: name the program")
        if not self.salt.strip():  # the salt is never echoed: it decides who is held out
            raise _Invalid(
                "salt", "is empty: set a salt of the program's own (changing it reshuffles the holdout)"
            )
        if not 0.0 <= self.share < 1.0:
            raise _Invalid("share", f"{self.share!r} is out of range: must be at least 0 and below 1")

    def policy(self) -> dict[str, Any]:
        """The ``HoldoutPolicy`` arguments (the build operator's ``holdout``)."""
        return {"program": self.program, "salt": self.salt, "share": self.share}


@dataclass(frozen=True)
class AudienceConfig:
    name: str
    destinations: tuple[str, ...]
    mode: SyncMode = SyncMode.MIRROR
    params: dict[str, Any] = field(default_factory=dict)
    # platform -> existing platform audience name (YAML ``platform_name``: one name for every destination, or a
    # mapping per platform); unset platforms get the env/workspace-qualified default
    platform_names: dict[str, str] = field(default_factory=dict)
    # when a guard would block its sync: approve | fail | skip (None: the audiences section's on_guard)
    on_guard: str | None = None
    # how long an approval request waits for on-call (None: the audiences section's approval_timeout_minutes)
    approval_timeout_minutes: float | None = None

    def __post_init__(self) -> None:
        if not self.destinations:
            raise _Invalid("destinations", "is empty: list meta and/or google")
        _all_of("destinations", self.destinations, [p.value for p in Platform])
        if self.on_guard is not None:
            _one_of("on_guard", self.on_guard, ON_GUARD)
        if self.approval_timeout_minutes is not None:
            _in_range("approval_timeout_minutes", self.approval_timeout_minutes, *APPROVAL_TIMEOUT_MINUTES)


_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Azure container names: 3-63 characters, lowercase letters, digits and single hyphens, starting with a letter or
# digit. Source: "Naming and Referencing Containers, Blobs, and Metadata",
# https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")


@dataclass(frozen=True)
class CioDagConfig:
    env: str
    workspace: str
    start_date: str
    container: str = "customerio"
    owner: str = "retention-data"
    retries: int = 2
    catchup: bool = True
    connections: dict[str, str] = field(default_factory=dict)
    export: ExportConfig = field(default_factory=ExportConfig)
    cart_recovery: CartRecoveryConfig = field(default_factory=CartRecoveryConfig)
    realtime: RealtimeConfig = field(default_factory=RealtimeConfig)
    audiences: tuple[AudienceConfig, ...] = ()
    min_size: int = 100
    max_shrink: float = 0.30
    on_guard: str = "approve"
    approval_timeout_minutes: float = 240.0
    holdout: HoldoutConfig | None = None
    warehouse: WarehouseConfig = field(default_factory=lambda: WarehouseConfig())

    @property
    def start(self) -> dt.datetime:
        """``start_date`` as midnight UTC (a pendulum ``DateTime``): the DAGs' ``start_date``."""
        import pendulum

        day = dt.date.fromisoformat(self.start_date)
        return pendulum.datetime(day.year, day.month, day.day, tz="UTC")

    def __post_init__(self) -> None:
        for key in ("env", "workspace"):
            if not _NAME.match(getattr(self, key)):
                raise _Invalid(key, f"{getattr(self, key)!r} must be lowercase letters, digits, - or _")
        if not _CONTAINER.match(self.container):
            raise _Invalid(
                "container", f"{self.container!r} is not an Azure container name (3-63 a-z, 0-9, -)"
            )
        try:
            dt.date.fromisoformat(self.start_date)
        except ValueError:
            raise _Invalid("start_date", f"{self.start_date!r} is not a date (YYYY-MM-DD)") from None
        _in_range("retries", self.retries, 0, 10)
        _in_range("audiences.min_size", self.min_size, 0)
        _in_range("audiences.max_shrink", self.max_shrink, 0.0, 1.0)
        _one_of("audiences.on_guard", self.on_guard, ON_GUARD)
        _in_range(
            "audiences.approval_timeout_minutes", self.approval_timeout_minutes, *APPROVAL_TIMEOUT_MINUTES
        )
        needed = {"blob", "customerio"} | {p for a in self.audiences for p in a.destinations}
        for name in sorted(needed - set(self.connections)):
            raise _Invalid(f"connections.{name}", "is missing: name the Airflow connection to use")
        names = {a.name for a in self.audiences}
        _all_of("cart_recovery.audiences", self.cart_recovery.audiences, sorted(names))
        _all_of("warehouse.engines", sorted(self.warehouse.engines), sorted(names))

    @property
    def datasets(self) -> list[str]:
        return list(self.export.datasets)

    @property
    def customerio_pool(self) -> str | None:
        """The Airflow pool every Customer.io App API task runs in (``export.pool``), or None for the default pool.

        The workspace's 10 req/s are shared by every task calling the App API, across DAGs and workers: tasks in
        parallel starve each other's requests into ``CustomerIoRateLimited``. One slot serializes them. The pool
        must exist (``airflow pools set``): the scheduler never queues a task whose pool does not.
        """
        return self.export.pool or None

    def guard_policy(self, audience: AudienceConfig) -> tuple[str, float]:
        """What the audience's syncs do when a guard would block (approve / fail / skip) and how many minutes an
        approval request waits: the audience's own setting, else the audiences section's."""
        return (
            audience.on_guard or self.on_guard,
            audience.approval_timeout_minutes
            if audience.approval_timeout_minutes is not None
            else self.approval_timeout_minutes,
        )

    def platform_audience_name(self, audience: AudienceConfig, platform: str) -> str:
        """The audience's name on ``platform``: its ``platform_name`` override, else ``cio/{env}/{workspace}/{name}``."""
        from airflow_provider_cio.sync.naming import platform_audience_name

        return platform_audience_name(
            self.env, self.workspace, audience.name, override=audience.platform_names.get(platform)
        )


# Created as `airflow pools set <export.pool> 1 "<this>"`; see CioDagConfig.customerio_pool.
CUSTOMERIO_POOL_DESCRIPTION = "Customer.io App API: 10 req/s per workspace"


def load_dag_config(default: str | Path) -> CioDagConfig:
    """``CIO_DAG_CONFIG`` when set, else ``default`` (the DAG folder's ``config/cio.yaml``)."""
    return read_dag_config(Path(os.environ.get("CIO_DAG_CONFIG") or default))


def read_dag_config(location: Path) -> CioDagConfig:
    """The DAG config in the file at ``location``; a ``DagConfigError`` naming the key when a value is wrong."""
    import yaml

    try:
        raw = yaml.safe_load(location.read_text())
    except OSError as exc:
        raise DagConfigError(f"DAG config {location} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DagConfigError(f"DAG config {location} is not valid YAML: {exc}") from None
    return parse_dag_config(raw, source=location.name)


def parse_dag_config(raw: Any, *, source: str = "cio.yaml") -> CioDagConfig:
    """The config from its parsed YAML (``source`` prefixes every message)."""
    reader = _Reader(source)
    raw = reader.mapping(raw, "")
    audiences = reader.mapping(raw.pop("audiences", None) or {}, "audiences")
    definitions = reader.mapping(audiences.pop("definitions", None) or {}, "audiences.definitions")
    audience_configs = [
        reader.section(
            AudienceConfig, _audience_fields(reader, str(name), spec), f"audiences.definitions.{name}"
        )
        for name, spec in definitions.items()
    ]
    guard_defaults: tuple[tuple[str, type], ...] = (
        ("min_size", int),
        ("max_shrink", float),
        ("on_guard", str),
        ("approval_timeout_minutes", float),
    )
    for key, scalar in guard_defaults:  # the guards' defaults, kept under audiences
        if key in audiences:
            raw[key] = reader.typed(audiences.pop(key), scalar, f"audiences.{key}")
    reader.no_unknown(audiences, ("definitions", *(key for key, _ in guard_defaults)), "audiences")
    holdout = raw.pop("holdout", None)
    raw["audiences"] = tuple(audience_configs)
    if holdout is not None:
        raw["holdout"] = reader.section(HoldoutConfig, holdout, "holdout")
    for key, kind in (
        ("export", ExportConfig),
        ("cart_recovery", CartRecoveryConfig),
        ("realtime", RealtimeConfig),
        ("warehouse", WarehouseConfig),
    ):
        raw[key] = reader.section(kind, raw.get(key) or {}, key)
    built = {
        "audiences",
        "holdout",
        "export",
        "cart_recovery",
        "realtime",
        "warehouse",
        *(key for key, _ in guard_defaults),
    }
    return reader.section(CioDagConfig, raw, "", built=built)


def _audience_fields(reader: _Reader, name: str, spec: Any) -> dict[str, Any]:
    spec = dict(reader.mapping(spec, f"audiences.definitions.{name}"))
    spec["name"] = name
    raw_name = spec.pop("platform_name", None)
    destinations = spec.get("destinations")
    if raw_name is not None:
        path = f"audiences.definitions.{name}.platform_name"
        if isinstance(raw_name, str):
            names = dict.fromkeys([str(d) for d in destinations or []], raw_name)
        elif isinstance(raw_name, dict):
            unknown = sorted(str(p) for p in set(raw_name) - {str(d) for d in destinations or []})
            if unknown:
                raise reader.error(path, f"names {unknown}, not among its destinations")
            names = {str(p): str(v) for p, v in raw_name.items()}
        else:
            raise reader.error(path, "must be a name or a mapping platform -> name")
        spec["platform_names"] = names
    return spec


class _Reader:
    """Type-checks YAML values against a section's annotations; messages start ``<file>: <key path>:``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, message: str) -> DagConfigError:
        return DagConfigError(
            f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}", key=path
        )

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(path, f"must be a mapping, not {type(value).__name__}")
        return dict(value)

    def no_unknown(self, value: dict[str, Any], known: typing.Iterable[str], path: str) -> None:
        known = tuple(known)
        for key in value:
            if key not in known:
                where = f"{path}.{key}" if path else str(key)
                allowed = ", ".join(known) or "nothing else"
                raise self.error(where, f"unknown key (allowed here: {allowed})")

    def section(
        self, kind: type[Any], value: Any, path: str, built: typing.AbstractSet[str] = frozenset()
    ) -> Any:
        """``kind(**value)``: unknown keys refused, each value type-checked (``built`` ones are already built)."""
        value = self.mapping(value, path)
        hints = typing.get_type_hints(kind)
        self.no_unknown(value, [f.name for f in fields(kind)], path)
        kwargs: dict[str, Any] = {}
        for f in fields(kind):
            key = f"{path}.{f.name}" if path else f.name
            if f.name not in value:
                if f.default is MISSING and f.default_factory is MISSING:
                    raise self.error(key, "is missing")
                continue
            kwargs[f.name] = (
                value[f.name] if f.name in built else self.typed(value[f.name], hints[f.name], key)
            )
        try:
            return kind(**kwargs)
        except _Invalid as invalid:
            raise self.error(f"{path}.{invalid.key}" if path else invalid.key, str(invalid)) from None

    def typed(self, value: Any, hint: Any, key: str) -> Any:
        """``value`` as ``hint`` (str, int, float, bool, tuple[str, ...], dict[str, X], optional X), else an error."""
        origin = typing.get_origin(hint)
        if origin in (types.UnionType, typing.Union):
            options = [a for a in typing.get_args(hint) if a is not type(None)]
            return None if value is None else self.typed(value, options[0], key)
        if origin is tuple:
            if not isinstance(value, list | tuple):
                raise self.error(key, f"must be a list, not {_kind(value)}")
            return tuple(
                self.typed(item, typing.get_args(hint)[0], f"{key}[{i}]") for i, item in enumerate(value)
            )
        if origin is dict:
            mapping = self.mapping(value, key)
            inner = typing.get_args(hint)[1]
            return {str(k): self.typed(v, inner, f"{key}.{k}") for k, v in mapping.items()}
        if isinstance(hint, type) and issubclass(hint, StrEnum):
            if not isinstance(value, str):
                raise self.error(key, f"must be text, not {_kind(value)}")
            if value not in {member.value for member in hint}:
                raise self.error(key, f"{value!r} is not one of {', '.join(member.value for member in hint)}")
            return hint(value)
        if hint is Any:
            return value
        if hint is bool:
            if not isinstance(value, bool):
                raise self.error(key, f"must be true or false, not {_kind(value)}")
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(key, f"must be a whole number, not {_kind(value)}")
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.error(key, f"must be a number, not {_kind(value)}")
            if not math.isfinite(value):  # .nan passes every range check
                raise self.error(key, f"must be a finite number, not {value!r}")
            return float(value)
        if hint is str:
            if isinstance(value, dt.date):  # an unquoted YAML date
                return value.isoformat()
            if not isinstance(value, str):
                raise self.error(key, f"must be text, not {_kind(value)}")
            return value
        raise TypeError(f"no reader for {hint!r}")  # a new field's type: extend typed()


def _kind(value: Any) -> str:
    return "nothing (null)" if value is None else f"{type(value).__name__} {value!r}"[:60]


# where the audience definitions' queries run (airflow_provider_cio.audiences.engines.ENGINES)
ENGINES = ("duckdb", "postgres", "spark")
_TABLE_KEYS = ("prefix", "conn_id", "table", "time_column", "lookback_days", "types", "dialect")


@dataclass(frozen=True)
class WarehouseConfig:
    """``warehouse``: where definitions run (``engine``, per audience in ``engines``) and where each warehouse
    table comes from (``tables``: a Blob ``prefix`` of Parquet, or a ``table`` read through ``conn_id``).
    See docs/warehouse.md."""

    engine: str = "duckdb"
    conn_id: str = ""  # the postgres engine's Airflow connection
    spark_master: str = "local[2]"
    spark_remote: str = ""  # Spark Connect (sc://host:15002) instead of a local master
    engines: dict[str, str] = field(default_factory=dict)  # audience -> engine
    tables: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # name -> {prefix} | {table, conn_id, ...}

    def __post_init__(self) -> None:
        _one_of("engine", self.engine, ENGINES)
        for audience, engine in self.engines.items():
            _one_of(f"engines.{audience}", engine, ENGINES)
        if "postgres" in (self.engine, *self.engines.values()) and not self.conn_id:
            raise _Invalid("conn_id", "is missing: the postgres engine needs an Airflow Postgres connection")
        for name, spec in self.tables.items():
            unknown = sorted(set(spec) - set(_TABLE_KEYS))
            if unknown:
                raise _Invalid(
                    f"tables.{name}", f"unknown key(s) {unknown} (allowed: {', '.join(_TABLE_KEYS)})"
                )
            if ("prefix" in spec) == ("table" in spec):
                raise _Invalid(
                    f"tables.{name}", "give either prefix (Blob Parquet) or table (in the warehouse)"
                )

    def engine_spec(self, engine: str) -> dict[str, Any]:
        """The build operator's ``engine`` argument for ``engine``."""
        spec: dict[str, Any] = {"engine": engine}
        if engine == "postgres":
            spec["conn_id"] = self.conn_id
        elif engine == "spark":
            spec.update(
                {"spark_remote": self.spark_remote}
                if self.spark_remote
                else {"spark_master": self.spark_master}
            )
        return spec

    def operator_kwargs(self, env: str) -> dict[str, Any]:
        """``engine``, ``audience_engines`` and ``warehouse`` for ``CioAudienceBuildOperator`` (``{env}`` in a prefix
        is the deployment's env)."""
        return {
            "engine": self.engine_spec(self.engine),
            "audience_engines": {a: self.engine_spec(e) for a, e in self.engines.items()},
            "warehouse": {
                name: {**spec, "prefix": str(spec["prefix"]).replace("{env}", env)}
                if "prefix" in spec
                else dict(spec)
                for name, spec in self.tables.items()
            }
            or {"orders": f"warehouse/{env}/orders"},
        }
