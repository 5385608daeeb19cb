"""
### cio_incrementality: weekly holdout lift report

Once a week: for the paid-retention program, compare customers in the holdout (never sent to ad platforms; a salted
hash of the customer id decides, stable across runs) with treated customers over the week: conversion rate and
revenue per user, absolute and relative lift, 95% confidence interval, two-proportion z-test p-value. Writes a PNG
chart, an HTML summary and `summary.json` under `reports/{env}/{workspace}/incrementality/{program}/dt=.../`.

**On call**: a failure here never affects audiences or syncs. Usually a missing snapshot population (the program's
audiences did not build that week) or the warehouse `orders` table missing/renamed (the message names it).
Re-run safely: the report for a week is overwritten in place. Runbook: docs/runbook.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_cio.dag_config import load_dag_config
from airflow_provider_cio.notifications.notifier import CioFailureNotifier
from airflow_provider_cio.operators.incrementality import CioIncrementalityOperator

cfg = load_dag_config(Path(__file__).parent / "config" / "cio.yaml")

with DAG(
    dag_id="cio_incrementality",
    schedule="@weekly",
    start_date=cfg.start,
    catchup=False,
    max_active_runs=1,
    tags=["customerio", "holdout", "measurement"],
    doc_md=__doc__,
    default_args={
        "owner": cfg.owner,
        "retries": cfg.retries,
        "retry_delay": timedelta(minutes=10),
        "on_failure_callback": CioFailureNotifier(),
    },
) as dag:
    CioIncrementalityOperator(
        task_id="lift_report",
        program=cfg.holdout.program if cfg.holdout else "paid_retention",
        audiences=[a.name for a in cfg.audiences],
        env=cfg.env,
        workspace=cfg.workspace,
        container=cfg.container,
        wasb_conn_id=cfg.connections["blob"],
        warehouse=cfg.warehouse.operator_kwargs(cfg.env)["warehouse"],  # orders as the audiences read them
    )
