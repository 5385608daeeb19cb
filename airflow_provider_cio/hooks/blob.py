"""Blob access for operators: the azure provider's ``WasbHook`` owns credentials; we only pick the container."""

from __future__ import annotations

from typing import Any

from airflow_provider_cio.storage.azure import AzureObjectStore

DEFAULT_BLOB_CONN_ID = "cio_blob"


def object_store(wasb_conn_id: str = DEFAULT_BLOB_CONN_ID, container: str = "customerio") -> AzureObjectStore:
    """An ``ObjectStore`` over ``container`` using the Airflow connection ``wasb_conn_id``.

    The container is created by the first write that finds it missing, when the credentials allow it; with
    container-scoped credentials (a container SAS) it must already exist, and that write fails as not found.
    """
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    service = WasbHook(wasb_conn_id=wasb_conn_id).blob_service_client
    return AzureObjectStore(service.get_container_client(container))  # type: ignore[arg-type]


def sas_findings(
    wasb_conn_id: str = DEFAULT_BLOB_CONN_ID, *, warn_days: float = 14.0, now: Any = None
) -> list[Any]:
    """The connection's SAS expiry (``sas_token`` extra, a connection string's ``SharedAccessSignature``, or a SAS
    in the host URL) as preflight findings; none for an account key or Entra ID (they do not expire this way)."""
    from datetime import UTC, datetime

    from airflow.sdk import BaseHook

    from airflow_provider_cio.preflight.sas import check_sas, sas_from_connection_string

    conn = BaseHook.get_connection(wasb_conn_id)
    extras = conn.extra_dejson
    sas = extras.get("sas_token") or sas_from_connection_string(str(extras.get("connection_string") or ""))
    if not sas and conn.host and "?" in conn.host and "sig=" in conn.host:
        sas = conn.host.split("?", 1)[1]
    if not sas:
        return []
    return check_sas(str(sas), now=now or datetime.now(UTC), warn_days=warn_days)
