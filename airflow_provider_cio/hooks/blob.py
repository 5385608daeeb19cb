"""Blob access for operators: the azure provider's ``WasbHook`` owns credentials; we only pick the container."""

from __future__ import annotations

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
