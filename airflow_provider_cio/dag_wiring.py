"""Wiring shared by the reference DAGs (no logic: which operators, with which settings, in which order)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_cio.dag_config import AudienceConfig, CioDagConfig

# the longest an hourly DAG's approval request waits, whatever the audience's approval_timeout_minutes: cart
# audiences lose value by the hour and cio_cart_recovery's run times out after 50 minutes
HOURLY_APPROVAL_MINUTES = 30.0


def layout(cfg: CioDagConfig) -> dict[str, Any]:
    """The settings every landing/audience operator takes from the config."""
    return {
        "env": cfg.env,
        "workspace": cfg.workspace,
        "container": cfg.container,
        "wasb_conn_id": cfg.connections["blob"],
    }


def audience_build(
    cfg: CioDagConfig, *, task_id: str, audiences: Sequence[AudienceConfig], hourly: bool = False
) -> Any:
    """The build task of ``audiences`` (engine, warehouse tables, holdout, parameters from the config).

    With ``realtime.webhook_inputs`` (the default) it reads the landed ``webhook_events`` within its lookback, as
    ``cio_realtime`` does: the hourly cart build writes the same ``dt=/hr=`` snapshot as ``cio_realtime`` with the
    same as-of time, and a build without the micro-batches would add back who converted in the hour. No batches
    landed (no receiver deployed): the same inputs as without."""
    from airflow_provider_cio.operators.audiences import CioAudienceBuildOperator
    from airflow_provider_cio.operators.realtime_audiences import CioRealtimeAudienceBuildOperator

    kind = CioRealtimeAudienceBuildOperator if cfg.realtime.webhook_inputs else CioAudienceBuildOperator
    return kind(
        task_id=task_id,
        audiences=[a.name for a in audiences],
        parameters={a.name: a.params for a in audiences if a.params},
        holdout=cfg.holdout.policy() if cfg.holdout else None,
        hourly=hourly,
        **layout(cfg),
        **cfg.warehouse.operator_kwargs(cfg.env),  # engine and warehouse tables (docs/warehouse.md)
    )


def app_api_export(cfg: CioDagConfig, *, hourly: bool = False) -> dict[str, Any]:
    """The settings every ``CustomerIoExportOperator`` takes from the config: connection, polling, paging,
    rejection limit, deferral, the settle delay (the hourly DAG's own) and the shared App API pool (only when
    configured)."""
    settings: dict[str, Any] = {
        "settle_minutes": cfg.cart_recovery.settle_minutes if hourly else cfg.export.settle_minutes,
        "customerio_conn_id": cfg.connections["customerio"],
        "poll_interval": cfg.export.poll_interval,
        "listing_page_limit": cfg.export.listing_page_limit,
        "max_rejected_rate": cfg.export.max_rejected_rate,
        "deferrable": cfg.export.deferrable,
    }
    if cfg.customerio_pool:
        settings["pool"] = cfg.customerio_pool
    return settings


def partition_params(*, hourly: bool = False) -> dict[str, Any]:
    """``partition_date``: the period a manually triggered run processes, independent of its logical date (Airflow
    keeps logical dates unique per DAG: a dry run then a real run of one day are two runs, two logical dates, one
    partition). Empty: the usual rule, the period that ended at the logical date (operators._partition)."""
    from airflow.sdk import Param

    if hourly:
        return {
            "partition_date": Param(
                None,
                type=["null", "string"],
                format="date-time",
                description="the hour to process, UTC (YYYY-MM-DDTHH:00), whatever the logical date; empty: the "
                "hour that ended at the logical date",
            )
        }
    return {
        "partition_date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="the day to process (YYYY-MM-DD, UTC), whatever the logical date: lets a dry run and a "
            "real run of the same day both run; empty: the day that ended at the logical date (D processes D-1)",
        )
    }


def sync_params(audiences: Sequence[str] = (), *, hourly: bool = False) -> dict[str, Any]:
    """The run parameters every DAG that syncs audiences offers in its trigger form (read by ``gate_and_sync``):
    every documented override of a sync, typed, each logged by the sync task with the user who triggered the run,
    and the ``partition_date`` to process (``partition_params``)."""
    from airflow.sdk import Param

    names = sorted(audiences)
    return {
        **partition_params(hourly=hourly),
        "dry_run": Param(False, type="boolean", description="compute and report sync plans, send nothing"),
        "allow_shrink": Param(
            False,
            type="boolean",
            description="let a sync through that the shrink guard would block (the audience loses more than "
            "max_shrink of its members vs the last synced snapshot): approve a real drop. Also lets this run's "
            "landing reruns replace a shrunken partition. Logged with your user name",
        ),
        "allow_older": Param(
            False,
            type="boolean",
            description="sync even if this run's snapshot is older than the one last synced (a deliberate "
            "roll-back); otherwise an older snapshot (a backfill) is skipped as superseded",
        ),
        "audiences": Param(
            [],
            # null: what the UI's multi-select sends once every choice is cleared (same meaning as [])
            type=["array", "null"],
            items={"type": "string", "enum": names} if names else {"type": "string"},
            examples=names,
            uniqueItems=True,
            description="sync only these audiences (their other sync tasks are skipped); empty: every audience. "
            "Builds and gates still run for all",
        ),
    }


def gate_and_sync(build: Any, audience: AudienceConfig, cfg: CioDagConfig, *, hourly: bool = False) -> None:
    """``build >> gate_<audience>`` then, for each destination, its sync: no sync without its gate.

    With the audience's ``on_guard: approve`` (the default) each sync is
    ``gate >> guard_<platform>_<audience> >> approve_<platform>_<audience> >> sync_<platform>_<audience>``: the
    guard check plans the sync dry; when a guard would block it, the approval asks on-call in the UI (Required
    Actions), else it skips itself and the sync runs as usual (``none_failed``: a skipped approval lets it through,
    a failed gate or an unanswered request does not). ``fail`` / ``skip``: ``gate >> sync``, the sync fails or skips.

    The platform audience name is resolved here, at parse time: an invalid one is a DAG import error, and the task's
    rendered fields show on-call which platform audience it writes."""
    from datetime import timedelta

    from airflow_provider_cio.operators.audience_sync import CioAudienceSyncOperator
    from airflow_provider_cio.operators.quality_gate import CioQualityGateOperator

    gate = CioQualityGateOperator(
        task_id=f"gate_{audience.name}",
        dataset=audience.name,
        root="audiences",
        contract="audience_snapshot",
        hourly=hourly,
        **layout(cfg),
    )
    build >> gate
    on_guard, timeout_minutes = cfg.guard_policy(audience)
    if hourly:  # an hour's run must not hold the next one (max_active_runs 1): the next hour asks again
        timeout_minutes = min(timeout_minutes, HOURLY_APPROVAL_MINUTES)
    for platform in audience.destinations:
        sync_kwargs: dict[str, Any] = {
            "audience": audience.name,
            "platform": platform,
            "conn_id": cfg.connections[platform],
            "mode": audience.mode,
            "platform_audience_name": cfg.platform_audience_name(audience, platform),
            "min_size": cfg.min_size,
            "max_shrink": cfg.max_shrink,
            "plan_only": "{{ params.dry_run }}",
            "allow_older": "{{ params.allow_older }}",
            "allow_shrink": "{{ params.allow_shrink }}",
            "only_audiences": "{{ (params.audiences or []) | join(',') }}",
            "hourly": hourly,
            **layout(cfg),
        }
        if on_guard != "approve":
            gate >> CioAudienceSyncOperator(
                task_id=f"sync_{platform}_{audience.name}", on_guard=on_guard, **sync_kwargs
            )
            continue
        from airflow_provider_cio.operators.sync_approval import CioSyncApprovalOperator
        from airflow_provider_cio.operators.sync_guard_check import CioSyncGuardCheckOperator

        check = CioSyncGuardCheckOperator(
            task_id=f"guard_{platform}_{audience.name}",
            gate_task_id=gate.task_id,
            preflight=False,  # the sync's own preflight runs before it sends anything
            **sync_kwargs,
        )
        approval = CioSyncApprovalOperator(
            task_id=f"approve_{platform}_{audience.name}",
            guard_check_task_id=check.task_id,
            response_timeout=timedelta(minutes=timeout_minutes),
            retries=0,  # a retry would only ask again: clearing the task does that on purpose
        )
        (
            gate
            >> check
            >> approval
            >> CioAudienceSyncOperator(
                task_id=f"sync_{platform}_{audience.name}",
                on_guard=on_guard,
                guard_check_task_id=check.task_id,
                approval_task_id=approval.task_id,
                trigger_rule="none_failed",
                **sync_kwargs,
            )
        )
