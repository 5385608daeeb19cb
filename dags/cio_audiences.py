"""
### cio_audiences: build audiences, gate them, sync them to Meta and Google

Runs when `cio_export` has landed **and gated** people, deliveries and events (Asset schedule). For the partition
date of the triggering runs: **build** every configured audience over the landing zone (with the webhook
receiver's micro-batches: `realtime.webhook_inputs`) and the warehouse `orders` table (global exclusions: deleted,
suppressed, no ad consent, the holdout), **gate** each snapshot (contract `audience_snapshot`), then **sync** it
to each destination with the shared sync core (diff vs the last synced snapshot, guardrails, ledger).

**On call**
- `gate_<audience>` failed: the audience is malformed or its size jumped/dropped vs recent snapshots. Its syncs did
  not run; the live audiences are untouched.
- `sync_<platform>_<audience>` failed: read the error class. *configuration* (token, terms, allowlisting) fails at
  once and names who must act; a **guard** (empty snapshot, >30% shrink, too small, no quality verdict) blocks
  before anything is sent and names its override; *platform* errors retried with backoff and resume from the ledger
  when cleared.
- `approve_<platform>_<audience>` awaiting input (Required Actions): a guard would block that sync
  (`on_guard: approve` in the config). Read the figures in the request (sizes, shrink, recent snapshots, gate report)
  and Approve (the sync runs; you are recorded in the ledger) or Reject (skipped, nothing sent). No answer within
  `approval_timeout_minutes` fails the approval task; the live audience is untouched. `guard_<platform>_<audience>`
  is the dry plan that decided to ask.
- Trigger form ("Trigger DAG" with config): `dry_run` (plans computed and reported in XCom, nothing sent),
  `allow_shrink` (approve a drop the >30% shrink guard blocked), `allow_older` (below), `audiences` (sync only these;
  the other sync tasks are skipped). Each override used is logged by the sync task with the user who triggered the run.
- A sync reports `superseded` and sends nothing when its snapshot is older than the one last synced (a backfilled
  day, or this daily run after the hourly cart DAG): live audiences never go back in time. Trigger with
  `{"allow_older": true}` to roll one back on purpose.
Runbook: docs/runbook.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_cio.assets import landing_asset
from airflow_provider_cio.dag_config import load_dag_config
from airflow_provider_cio.dag_wiring import audience_build, gate_and_sync, sync_params
from airflow_provider_cio.notifications.notifier import CioFailureNotifier

cfg = load_dag_config(Path(__file__).parent / "config" / "cio.yaml")

with DAG(
    dag_id="cio_audiences",
    schedule=[
        landing_asset(d, env=cfg.env, workspace=cfg.workspace, container=cfg.container)
        for d in ("people", "deliveries", "events")
    ],
    start_date=cfg.start,
    catchup=False,
    max_active_runs=1,
    tags=["customerio", "audiences", "meta", "google"],
    doc_md=__doc__,
    params=sync_params([a.name for a in cfg.audiences]),
    default_args={
        "owner": cfg.owner,
        "retries": cfg.retries,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "on_failure_callback": CioFailureNotifier(),
    },
) as dag:
    # with the webhook micro-batches (realtime.webhook_inputs): who converted is who cio_realtime says
    build = audience_build(cfg, task_id="build_audiences", audiences=cfg.audiences)
    for audience in cfg.audiences:
        gate_and_sync(build, audience, cfg)
