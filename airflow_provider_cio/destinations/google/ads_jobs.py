"""Offline user data job status as a pure poll, so an Airflow trigger can wait for a job without holding a worker.

``job_status`` makes one GAQL call and returns a JSON-able dict; ``wait_for_job`` loops it with an injectable sleep.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_cio.sync.errors import StillProcessing

TERMINAL = frozenset({"SUCCESS", "FAILED"})
_JOB_QUERY = (
    "SELECT offline_user_data_job.status, offline_user_data_job.failure_reason, "
    "offline_user_data_job.operation_metadata.match_rate_range "
    "FROM offline_user_data_job WHERE offline_user_data_job.resource_name = '{name}'"
)


def customer_of(resource_name: str) -> str:
    match = re.match(r"customers/(\d+)/", resource_name)
    if not match:
        raise ValueError(f"not a Google Ads resource name: {resource_name!r}")
    return match.group(1)


def job_status(client: Any, resource_name: str, *, version: str = "v26") -> dict[str, Any]:
    """``{"resource_name", "status", "failure_reason", "match_rate_range", "done"}`` for one job (one GAQL call)."""
    service = client.get_service("GoogleAdsService", version=version)
    rows = list(
        service.search(customer_id=customer_of(resource_name), query=_JOB_QUERY.format(name=resource_name))
    )
    if not rows:
        return {"resource_name": resource_name, "status": "NOT_FOUND", "failure_reason": None,
                "match_rate_range": None, "done": True}  # fmt: skip
    job = rows[0].offline_user_data_job
    status = job.status.name
    return {
        "resource_name": resource_name,
        "status": status,
        "failure_reason": job.failure_reason.name,
        "match_rate_range": job.operation_metadata.match_rate_range.name,
        "done": status in TERMINAL,
    }


def wait_for_job(
    client: Any,
    resource_name: str,
    *,
    version: str = "v26",
    poll_interval_seconds: float = 30.0,
    max_polls: int = 240,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the job is terminal; bounded (jobs can take hours: a trigger is the better waiter there)."""
    for poll in range(1, max_polls + 1):
        status = job_status(client, resource_name, version=version)
        status["polls"] = poll
        if status["done"]:
            return status
        sleep(poll_interval_seconds)
    raise StillProcessing(
        f"google ads: job {resource_name} still running after {max_polls} polls",
        retry_after=poll_interval_seconds,
    )
