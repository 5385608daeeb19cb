"""The settle delay: a land task reads a period only once it ended ``settle_minutes`` ago (Customer.io's data-out
and exports lag behind real time); until then it waits deferred, holding no worker slot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_cio.operators._partition import settled_at

if TYPE_CHECKING:
    from airflow.sdk import Context


def defer_until_settled(operator: Any, context: Context, *, hourly: bool, settle_minutes: float) -> None:
    """Return at once when the run's period has settled (every backfill, every late run); else defer the task to
    ``operator.execute_settled`` at the settle time. Only a run fired at the end of its period ever waits."""
    from datetime import UTC, datetime

    ready = settled_at(context, hourly=hourly, settle_minutes=settle_minutes)
    if datetime.now(UTC) >= ready:
        return
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger

    operator.log.info(
        "waiting until %s: the period ends, plus %s min settle delay", ready.isoformat(), settle_minutes
    )
    operator.defer(trigger=DateTimeTrigger(moment=ready), method_name="execute_settled")
