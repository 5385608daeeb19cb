"""Wiring of the event-driven DAG (``cio_realtime``): which audiences, and the Asset new micro-batches update.

Kept apart from ``dag_wiring.py`` (shared by every reference DAG) so the daily pipeline's wiring does not change.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_cio.dag_config import AudienceConfig, CioDagConfig


def realtime_audiences(cfg: CioDagConfig) -> list[AudienceConfig]:
    """What the event-driven DAG rebuilds: the hourly cart audiences and every configured suppression audience
    (a ``converted`` / purchase event moves a person from the first to the second)."""
    from airflow_provider_cio.audiences.definitions import load_definition

    return [
        a
        for a in cfg.audiences
        if a.name in cfg.cart_recovery.audiences or load_definition(a.name).purpose == "suppression"
    ]


def webhook_batches_asset(cfg: CioDagConfig, *, poll_interval: float, watch: bool) -> Any:
    """The Asset a new ``webhook_events`` micro-batch updates; with ``watch``, an ``AssetWatcher`` on the triggerer
    polls for batches (event-driven scheduling), else a DAG with ``CioWebhookBatchSensor`` emits it."""
    from airflow.sdk import Asset, AssetWatcher

    from airflow_provider_cio.triggers.webhook_batches import WebhookBatchTrigger

    watchers = []
    if watch:
        trigger = WebhookBatchTrigger(
            wasb_conn_id=cfg.connections["blob"],
            container=cfg.container,
            root="landing",
            env=cfg.env,
            workspace=cfg.workspace,
            poll_interval=poll_interval,
        )
        watchers = [AssetWatcher(name=f"cio_{cfg.env}_{cfg.workspace}_webhook_batches", trigger=trigger)]
    return Asset(
        name=f"cio.{cfg.env}.{cfg.workspace}.webhook_events.batches",
        uri=f"wasb://{cfg.container}/landing/{cfg.env}/{cfg.workspace}/webhook_events/_batches",
        group="customerio",
        watchers=watchers,
    )
