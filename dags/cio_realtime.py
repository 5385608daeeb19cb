"""
### cio_realtime: cart and suppression audiences within minutes of a Customer.io webhook

The webhook receiver (`python -m airflow_provider_cio.webhooks`, docs/realtime.md) lands Customer.io's Reporting
Webhooks and Data Pipelines calls as `webhook_events` micro-batches. Each new batch triggers this DAG (an
`AssetWatcher` on the triggerer polls the batch manifests; or, with `CIO_REALTIME_TRIGGER=sensor`, the
`cio_realtime_watch` DAG's deferrable sensor): gate the hour's `webhook_events`, rebuild the cart audiences and the
suppression audiences with the batches as fresher inputs (a cart add joins, a `converted` or `order_completed` event
leaves the cart audiences and joins the suppression audience), gate the snapshots, sync to Meta and Google through
the same guards and ledger as every other sync. The run covers the hour in progress (its snapshot is that hour's,
newer than the last hourly `cio_cart_recovery` sync).

**On call**: a failed run leaves the live audiences as they were; the next batch triggers a new run (one at a time,
later batches queue as one run). Nothing here changes the daily or hourly DAGs. Runbook: docs/realtime.md.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_cio.dag_config import load_dag_config
from airflow_provider_cio.dag_wiring import gate_and_sync, layout, sync_params
from airflow_provider_cio.notifications.notifier import CioFailureNotifier
from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator
from airflow_provider_cio.operators.realtime_audiences import CioRealtimeAudienceBuildOperator
from airflow_provider_cio.realtime_wiring import realtime_audiences, webhook_batches_asset
from airflow_provider_cio.sensors.webhook_batches import CioWebhookBatchSensor

cfg = load_dag_config(Path(__file__).parent / "config" / "cio.yaml")
common = layout(cfg)
audiences = realtime_audiences(cfg)
# watcher (default): an AssetWatcher on the triggerer; sensor: cio_realtime_watch, a deferrable sensor every minute
MODE = os.environ.get("CIO_REALTIME_TRIGGER", "watcher")
POLL_SECONDS = float(os.environ.get("CIO_REALTIME_POLL_SECONDS", "5"))
batches = webhook_batches_asset(cfg, poll_interval=POLL_SECONDS, watch=MODE != "sensor")
default_args = {
    "owner": cfg.owner,
    "retries": min(cfg.retries, 1),
    "retry_delay": timedelta(seconds=30),
    "on_failure_callback": CioFailureNotifier(),
}

with DAG(
    dag_id="cio_realtime",
    schedule=[batches],
    start_date=cfg.start,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["customerio", "audiences", "carts", "realtime"],
    doc_md=__doc__,
    params=sync_params([a.name for a in audiences], hourly=True),
    default_args=default_args,
) as dag:
    build = CioRealtimeAudienceBuildOperator(
        task_id="build_realtime_audiences",
        audiences=[a.name for a in audiences],
        parameters={a.name: a.params for a in audiences if a.params},
        holdout=cfg.holdout.policy() if cfg.holdout else None,
        hourly=True,
        **common,
        **cfg.warehouse.operator_kwargs(cfg.env),
    )
    (
        CioQualityGateOperator(task_id="gate_webhook_events", dataset="webhook_events", hourly=True, **common)
        >> build
    )
    for audience in audiences:
        gate_and_sync(build, audience, cfg, hourly=True)

if MODE == "sensor":
    with DAG(
        dag_id="cio_realtime_watch",
        schedule="* * * * *",
        start_date=cfg.start,
        catchup=False,
        max_active_runs=1,
        tags=["customerio", "realtime"],
        doc_md="Waits (deferred) for a new webhook micro-batch and announces it: `cio_realtime` runs on it.",
        default_args=default_args,
    ) as watch_dag:

        @task(outlets=[batches])
        def announce(event: Any, *, outlet_events: Any = None) -> None:
            """The batch event becomes the Asset event's extra (its ``interval_end`` is the run's period)."""
            outlet_events[batches].extra = {k: v for k, v in event.items() if k != "seen"}

        wait = CioWebhookBatchSensor(
            task_id="wait_for_batch",
            poll_interval=POLL_SECONDS,
            timeout=55,  # the next minute's run takes over
            soft_fail=True,
            **common,
        )
        announce(wait.output)
