"""Airflow Assets for landed datasets and audience snapshots, so downstream DAGs can be scheduled on them."""

from __future__ import annotations

from airflow.sdk import Asset


def landing_asset(
    dataset: str, *, env: str, workspace: str, container: str = "customerio", root: str = "landing"
) -> Asset:
    """The Asset a landing task emits when a partition of ``dataset`` commits (one per dataset, not per partition)."""
    return Asset(
        name=f"cio.{env}.{workspace}.{dataset}",
        uri=f"wasb://{container}/{root}/{env}/{workspace}/{dataset}",
        group="customerio",
    )


def audience_asset(audience: str, *, env: str, workspace: str, container: str = "customerio") -> Asset:
    return Asset(
        name=f"cio.{env}.{workspace}.audience.{audience}",
        uri=f"wasb://{container}/audiences/{env}/{workspace}/{audience}",
        group="audiences",
    )
