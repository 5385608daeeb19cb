"""``CioRealtimeAudienceBuildOperator``: the audience build, with the landed webhook micro-batches as fresher inputs.

``cio_realtime`` builds with it, and so do ``cio_cart_recovery`` and ``cio_audiences`` under
``realtime.webhook_inputs`` (``dag_wiring.audience_build``): every build agrees on who converted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_cio.operators.audiences import CioAudienceBuildOperator
from airflow_provider_cio.webhooks.audience_inputs import PURCHASE_EVENTS


class CioRealtimeAudienceBuildOperator(CioAudienceBuildOperator):
    """``CioAudienceBuildOperator`` plus the ``webhook_events`` hour partitions received within the lookback: track
    calls become ``events``, message events ``deliveries``, ``converted`` and purchase calls ``orders``
    (``webhooks/audience_inputs.py``). Same definitions, exclusions, holdout and snapshot as every other build."""

    def __init__(self, *, purchase_events: Sequence[str] = PURCHASE_EVENTS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.purchase_events = list(purchase_events)

    def extend_inputs(self, store: Any, inputs: Any, *, as_of: Any, work_dir: Any) -> Any:
        from dataclasses import replace

        from airflow_provider_cio.audiences.inputs import fetch_landing_inputs
        from airflow_provider_cio.webhooks.audience_inputs import (
            audience_tables,
            lookback_window,
            webhook_refs,
        )

        since, until = lookback_window(as_of, self.lookback_days)
        refs = webhook_refs(
            store, root=self.root, env=self.env, workspace=self.workspace, since=since, until=until
        )
        local = fetch_landing_inputs(store, {"webhook_events": refs}, work_dir / "webhooks")
        tables = audience_tables(
            local["webhook_events"],
            work_dir / "webhook_tables",
            until=as_of,
            purchase_events=self.purchase_events,
        )
        self.log.info(
            "webhook micro-batches: %d hour partition(s), %d part file(s) added to events, deliveries, orders",
            len(refs),
            len(local["webhook_events"]),
        )
        if not tables:
            return inputs
        warehouse = dict(inputs.warehouse)
        orders = warehouse.get("orders")
        if isinstance(orders, list):
            warehouse["orders"] = [*orders, str(tables["orders"])]
        else:  # a warehouse relation is read where it lives: converted events cannot be added to it
            self.log.warning(
                "orders is a warehouse relation: converted/purchase webhook events are not added to it; "
                "suppression waits for the warehouse"
            )
        return replace(
            inputs,
            events=[*_files(inputs.events), str(tables["events"])],
            deliveries=[*_files(inputs.deliveries), str(tables["deliveries"])],
            warehouse=warehouse,
        )


def _files(source: Any) -> list[str]:
    if source is None:
        return []
    if isinstance(source, str):
        return [source]
    return [str(p) for p in source]
