"""
### cio_audiences: build audiences, gate them, sync them to Meta and Google

Runs when `cio_export` has landed **and gated** people, deliveries and events (Asset schedule). For the partition
date of the triggering runs: **build** every configured audience over the landing zone and the warehouse `orders`
table (global exclusions: deleted, suppressed, no ad consent, the holdout), **gate** each snapshot (contract
`audience_snapshot`), then **sync** it to each destination with the shared sync core (diff vs the last synced
snapshot, guardrails, ledger).

**On call**
- `gate_<audience>` failed: the audience is malformed or its size jumped/dropped vs recent snapshots. Its syncs did
  not run; the live audiences are untouched.
- `sync_<platform>_<audience>` failed: read the error class. *configuration* (token, terms, allowlisting) fails at
  once and names who must act; a **guard** (empty snapshot, >30% shrink, too small, no quality verdict) blocks
  before anything is sent and names its override; *platform* errors retried with backoff and resume from the ledger
  when cleared.
- Dry run: trigger with `{"dry_run": true}`: plans are computed and reported in XCom, nothing is sent.
Runbook: docs/runbook.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_cio.assets import landing_asset
from airflow_provider_cio.dag_config import load_dag_config
from airflow_provider_cio.notifications.notifier import CioFailureNotifier
from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator
from airflow_provider_cio.operators.audiences import CioAudienceBuildOperator
from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator

cfg = load_dag_config(Path(__file__).parent / "config" / "cio.yaml")
common = {
    "env": cfg.env,
    "workspace": cfg.workspace,
    "container": cfg.container,
    "wasb_conn_id": cfg.connections["blob"],
}
CONNECTIONS = {"meta": cfg.connections["meta"], "google": cfg.connections["google"]}

with DAG(
    dag_id="cio_audiences",
    schedule=[
        landing_asset(d, env=cfg.env, workspace=cfg.workspace, container=cfg.container)
        for d in ("people", "deliveries", "events")
    ],
    start_date=pendulum.parse(cfg.start_date),
    catchup=False,
    max_active_runs=1,
    tags=["customerio", "audiences", "meta", "google"],
    doc_md=__doc__,
    params={
        "dry_run": Param(False, type="boolean", description="compute and report sync plans, send nothing")
    },
    default_args={
        "owner": cfg.owner,
        "retries": cfg.retries,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "on_failure_callback": CioFailureNotifier(),
    },
) as dag:
    build = CioAudienceBuildOperator(
        task_id="build_audiences",
        audiences=[a.name for a in cfg.audiences],
        parameters={a.name: a.params for a in cfg.audiences if a.params},
        holdout=cfg.holdout or None,
        **common,
    )
    for audience in cfg.audiences:
        gate = CioQualityGateOperator(
            task_id=f"gate_{audience.name}",
            dataset=audience.name,
            root="audiences",
            contract="audience_snapshot",
            **common,
        )
        build >> gate
        for platform in audience.destinations:
            gate >> CioAudienceSyncOperator(
                task_id=f"sync_{platform}_{audience.name}",
                audience=audience.name,
                platform=platform,
                conn_id=CONNECTIONS[platform],
                mode=audience.mode,
                min_size=cfg.min_size,
                max_shrink=cfg.max_shrink,
                plan_only="{{ params.dry_run }}",
                **common,
            )
