"""Blob access for operators: the azure provider's ``WasbHook`` owns credentials; we only pick the container."""

from __future__ import annotations

from airflow_provider_cio.storage.azure import AzureObjectStore

DEFAULT_BLOB_CONN_ID = "cio_blob"


def object_store(wasb_conn_id: str = DEFAULT_BLOB_CONN_ID, container: str = "customerio") -> AzureObjectStore:
    """An ``ObjectStore`` over ``container`` using the Airflow connection ``wasb_conn_id``.

    The container is created if missing when the credentials allow it; with container-scoped credentials (a
    container SAS) it must already exist.
    """
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook
    from azure.core.exceptions import HttpResponseError

    service = WasbHook(wasb_conn_id=wasb_conn_id).blob_service_client
    client = service.get_container_client(container)
    try:
        return AzureObjectStore(client)  # type: ignore[arg-type]
    except HttpResponseError as exc:
        if exc.status_code != 403:
            raise
        # container-scoped credentials (a container SAS) may not create containers: the container must exist
        return AzureObjectStore(client, create_container=False)  # type: ignore[arg-type]
