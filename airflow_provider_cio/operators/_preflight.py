"""The sync operator's preflight: cheap checks of the credentials and the target before anything is planned.

A configuration finding (expired SAS or token, missing scope, unknown list, flagged audience) fails the task at
once naming who must act; a warning (expiring within ``warn_days``) is logged and the sync goes on. A check that
could not run (the platform throttled or down) is logged, never fails the sync: the sync has its own retries.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def run_preflight(operator: Any, platform_audience: str, *, warn_days: float) -> list[str]:
    """Blob SAS, then the platform's checks; raises ConfigurationError on an error finding; the warnings' lines."""
    from airflow_provider_cio.hooks.blob import sas_findings
    from airflow_provider_cio.preflight.findings import raise_for
    from airflow_provider_cio.sync.errors import ConfigurationError, SyncError

    findings = list(sas_findings(operator.wasb_conn_id, warn_days=warn_days))
    try:
        if operator.platform == "meta":
            from airflow_provider_cio.hooks.meta import MetaCustomAudienceHook

            findings += MetaCustomAudienceHook(operator.conn_id).preflight(warn_days=warn_days)
        else:
            from airflow_provider_cio.hooks.google import GoogleCustomerMatchHook

            findings += GoogleCustomerMatchHook(operator.conn_id).preflight([platform_audience])
    except ConfigurationError:
        raise
    except SyncError as exc:
        log.warning(
            "%s preflight could not run (%s); the sync goes on with its own retries", operator.platform, exc
        )
    warnings = raise_for(findings)
    for finding in warnings:
        log.warning("preflight: %s", finding.line())
    return [finding.line() for finding in warnings]
