"""
### cio_export: land Customer.io data in Blob, gate it, emit one Asset per dataset

Per dataset, for the day that ended when the run fired (the run of logical date 2026-11-02 00:00 covers 2026-11-01,
scheduled, backfilled or triggered alike; its land tasks wait deferred until the day ended `export.settle_minutes`
ago): **land** (App API exports/listings, or Customer.io's native data-out files) into
`landing/{env}/{workspace}/{dataset}/dt=YYYY-MM-DD/`, then **gate** it against its data contract. The dataset's Asset
is emitted only when its gate passes, so `cio_audiences` never builds on a bad partition.

**On call**
- A `land_*` failure: check the error class in the alert. *configuration* = the Customer.io App API key or Blob
  credentials (fix the connection, then clear the task); *platform* = Customer.io throttling/outage (clear the task
  later: the partition is replaced atomically, nothing duplicates).
- `land_*` stays *scheduled* and never runs: the pool named by the config's `export.pool` does not exist
  (`airflow pools set customerio_api 1 "Customer.io App API: 10 req/s per workspace"`).
- A `gate_*` failure: the message lists each failed check with threshold and observed value, and links the HTML
  report in `_quality/`. Do **not** clear the gate to "get it green": fix upstream, then clear `land_*` + `gate_*`.
- Backfill: `airflow backfill create --dag-id cio_export --from-date A --to-date B --reprocess-behavior completed`
  rewrites the partitions of the days A-1..B-1 (each run lands the day before its logical date; docs/backfills.md). Runbook: docs/runbook.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

# airflow.sdk exports these three lazily (a module __getattr__), which mypy does not see
from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference  # type: ignore[attr-defined]

from airflow_provider_cio.assets import landing_asset
from airflow_provider_cio.dag_config import load_dag_config
from airflow_provider_cio.dag_wiring import app_api_export, layout, partition_params
from airflow_provider_cio.notifications.notifier import CioFailureNotifier
from airflow_provider_cio.operators.customerio_export import CustomerIoExportOperator
from airflow_provider_cio.operators.dataout import CioDataOutIngestOperator
from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator

cfg = load_dag_config(Path(__file__).parent / "config" / "cio.yaml")
common = layout(cfg)
# Freshness deadline (config `export.deadline_hours`, off in the devstack): Airflow 3.3.2's `dags test` exits 1
# after a successful run of a DAG that has a deadline (Airflow bug #73428); see docs/backfills.md.
deadline_hours = cfg.export.deadline_hours
deadline = (
    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=timedelta(hours=deadline_hours),
        callback=AsyncCallback(
            "airflow_provider_cio.notifications.deadline.export_late",
            kwargs={
                "waiting_for": "cio_audiences' morning sync",
                "webhook_url_env": cfg.export.deadline_webhook_env,
            },
        ),
    )
    if deadline_hours
    else None
)

with DAG(
    dag_id="cio_export",
    schedule="@daily",
    start_date=cfg.start,
    catchup=cfg.catchup,
    max_active_runs=3,
    deadline=deadline,
    tags=["customerio", "landing", "quality"],
    doc_md=__doc__,
    params=partition_params(),  # re-land one day from the trigger form, whatever the logical date
    default_args={
        "owner": cfg.owner,
        "retries": cfg.retries,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "on_failure_callback": CioFailureNotifier(),
    },
) as dag:
    dataout = None
    if cfg.export.source == "dataout":
        dataout = CioDataOutIngestOperator(
            task_id="land_dataout",
            source_container=cfg.export.dataout_container,
            source_prefix=cfg.export.dataout_prefix,
            ad_consent_when_unmapped=cfg.export.dataout_ad_consent,
            max_rejected_rate=cfg.export.max_rejected_rate,
            settle_minutes=cfg.export.settle_minutes,
            **common,
        )
    for dataset in cfg.datasets:
        gate = CioQualityGateOperator(
            task_id=f"gate_{dataset}",
            dataset=dataset,
            outlets=[landing_asset(dataset, env=cfg.env, workspace=cfg.workspace, container=cfg.container)],
            **common,
        )
        if dataout is not None:
            dataout >> gate
        else:
            (
                CustomerIoExportOperator(
                    task_id=f"land_{dataset}",
                    dataset=dataset,
                    **app_api_export(cfg),
                    **common,
                )
                >> gate
            )
