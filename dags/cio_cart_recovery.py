"""
### cio_cart_recovery: hourly high-intent cart audiences

Every hour: land the hour that has just ended (the run of 11:00 covers 10:00-11:00, from 11:00 plus
`cart_recovery.settle_minutes`) of `events` and `deliveries` (App API) into `dt=.../hr=HH/` partitions, gate them with
their contracts (tight freshness), build the cart audiences over the day so far (with the webhook receiver's
micro-batches, as `cio_realtime` does: `realtime.webhook_inputs`), gate the snapshot, sync to Meta and Google. Paid retargeting of hot carts loses value by the hour; a failed gate stops the sync for that hour only.

**On call**: a gate failure here usually means Customer.io data is late (`upstream_late`) or an export changed
shape (`schema_drift`): the hour's sync did not run and the live audience keeps its last good state. The next
hour retries naturally; clear the failed hour only if it still matters. The land tasks share the one-slot
Customer.io App API pool with `cio_export` (config `export.pool`): they wait while one of its land tasks runs (then go first:
priority weight 100), and never run if the pool does not exist. The trigger form offers the sync overrides of
`cio_audiences` (`dry_run`, `allow_shrink`, `allow_older`, an `audiences` subset), each logged with the triggering
user; `allow_shrink` also lets the hour's landing rerun replace a shrunken partition. A sync a guard would block waits
for on-call in Required Actions (`approve_<platform>_<audience>`, as in `cio_audiences`). Runbook: docs/runbook.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_cio.dag_config import load_dag_config
from airflow_provider_cio.dag_wiring import (
    app_api_export,
    audience_build,
    gate_and_sync,
    layout,
    sync_params,
)
from airflow_provider_cio.notifications.notifier import CioFailureNotifier
from airflow_provider_cio.operators.customerio_export import CustomerIoExportOperator
from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator

cfg = load_dag_config(Path(__file__).parent / "config" / "cio.yaml")
common = layout(cfg)
audiences = [a for a in cfg.audiences if a.name in cfg.cart_recovery.audiences]

with DAG(
    dag_id="cio_cart_recovery",
    schedule="@hourly",
    start_date=cfg.start,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=50),
    tags=["customerio", "audiences", "carts", "hourly"],
    doc_md=__doc__,
    params=sync_params([a.name for a in audiences], hourly=True),
    default_args={
        "owner": cfg.owner,
        "retries": min(cfg.retries, 1),
        "retry_delay": timedelta(minutes=2),
        "on_failure_callback": CioFailureNotifier(),
    },
) as dag:
    # with the webhook micro-batches (realtime.webhook_inputs): the same snapshot as cio_realtime's for the hour
    build = audience_build(cfg, task_id="build_cart_audiences", audiences=audiences, hourly=True)
    for dataset in cfg.cart_recovery.datasets:
        land = CustomerIoExportOperator(
            task_id=f"land_{dataset}_hourly",
            dataset=dataset,
            hourly=True,
            **app_api_export(cfg, hourly=True),
            # in the shared App API pool, a cart hour goes before cio_export's land tasks still waiting there: hot
            # carts lose value by the hour, a day's export does not
            priority_weight=100,
            weight_rule="absolute",
            **common,
        )
        (
            land
            >> CioQualityGateOperator(
                task_id=f"gate_{dataset}_hourly", dataset=dataset, hourly=True, **common
            )
            >> build
        )
    for audience in audiences:
        gate_and_sync(build, audience, cfg, hourly=True)
