"""The reference DAGs' configuration: one YAML file (``CIO_DAG_CONFIG`` or ``dags/config/cio.yaml``).

Parsed at DAG-parse time, so it stays cheap: PyYAML only, no connections, no network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AudienceConfig:
    name: str
    destinations: tuple[str, ...]
    mode: str = "mirror"
    params: dict[str, Any] = field(default_factory=dict)
    # platform -> existing platform audience name (YAML ``platform_name``: one name for every destination, or a
    # mapping per platform); unset platforms get the env/workspace-qualified default
    platform_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CioDagConfig:
    env: str
    workspace: str
    container: str
    start_date: str
    owner: str
    retries: int
    catchup: bool
    connections: dict[str, str]
    export: dict[str, Any]
    cart_recovery: dict[str, Any]
    audiences: tuple[AudienceConfig, ...]
    min_size: int
    max_shrink: float
    holdout: dict[str, Any]

    @property
    def datasets(self) -> list[str]:
        return list(self.export.get("datasets", []))

    @property
    def customerio_pool(self) -> str | None:
        """The Airflow pool every Customer.io App API task runs in (``export.pool``), or None for the default pool.

        The workspace's 10 req/s are shared by every task calling the App API, across DAGs and workers: tasks in
        parallel starve each other's requests into ``CustomerIoRateLimited``. One slot serializes them. The pool
        must exist (``airflow pools set``): the scheduler never queues a task whose pool does not.
        """
        return str(self.export["pool"]) if self.export.get("pool") else None

    def platform_audience_name(self, audience: AudienceConfig, platform: str) -> str:
        """The audience's name on ``platform``: its ``platform_name`` override, else ``cio/{env}/{workspace}/{name}``."""
        from airflow_provider_cio.sync.naming import platform_audience_name

        return platform_audience_name(
            self.env, self.workspace, audience.name, override=audience.platform_names.get(platform)
        )


# Created as `airflow pools set <export.pool> 1 "<this>"`; see CioDagConfig.customerio_pool.
CUSTOMERIO_POOL_DESCRIPTION = "Customer.io App API: 10 req/s per workspace"


class DagConfigError(ValueError):
    error_class = "configuration"


def load_dag_config(default: str | Path) -> CioDagConfig:
    """``CIO_DAG_CONFIG`` when set, else ``default`` (the DAG folder's ``config/cio.yaml``)."""
    return read_dag_config(Path(os.environ.get("CIO_DAG_CONFIG") or default))


def read_dag_config(location: Path) -> CioDagConfig:
    """The DAG config in the file at ``location``; a clear ``DagConfigError`` when it is unreadable or incomplete."""
    import yaml

    try:
        raw = yaml.safe_load(location.read_text())
    except OSError as exc:
        raise DagConfigError(f"DAG config {location} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DagConfigError(f"DAG config {location} is not valid YAML: {exc}") from None
    try:
        audiences = raw.get("audiences", {})
        definitions = audiences.get("definitions", {}) or {}
        return CioDagConfig(
            env=str(raw["env"]),
            workspace=str(raw["workspace"]),
            container=str(raw.get("container", "customerio")),
            start_date=str(raw["start_date"]),
            owner=str(raw.get("owner", "retention-data")),
            retries=int(raw.get("retries", 2)),
            catchup=bool(raw.get("catchup", True)),
            connections=dict(raw.get("connections", {})),
            export=dict(raw.get("export", {})),
            cart_recovery=dict(raw.get("cart_recovery", {})),
            audiences=tuple(
                AudienceConfig(
                    name=name,
                    destinations=tuple(spec.get("destinations", [])),
                    mode=str(spec.get("mode", "mirror")),
                    params=dict(spec.get("params", {})),
                    platform_names=_platform_names(name, spec),
                )
                for name, spec in definitions.items()
            ),
            min_size=int(audiences.get("min_size", 100)),
            max_shrink=float(audiences.get("max_shrink", 0.3)),
            holdout=dict(raw.get("holdout", {})),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise DagConfigError(f"DAG config {location} is missing or mistypes {exc}") from None


def _platform_names(audience: str, spec: dict[str, Any]) -> dict[str, str]:
    """``platform_name: x`` names the audience x on every destination; ``{meta: x}`` on the ones listed only."""
    raw = spec.get("platform_name")
    destinations = [str(d) for d in spec.get("destinations", [])]
    if raw is None:
        return {}
    if isinstance(raw, str):
        return dict.fromkeys(destinations, raw)
    if not isinstance(raw, dict):
        raise DagConfigError(
            f"audience {audience}: platform_name must be a name or a mapping platform -> name"
        )
    unknown = sorted(set(raw) - set(destinations))
    if unknown:
        raise DagConfigError(
            f"audience {audience}: platform_name names {unknown}, not among its destinations"
        )
    return {str(platform): str(name) for platform, name in raw.items()}
