"""A short-lived, read-only SAS URL for one report blob, signed with what the Blob client already holds.

An account key signs a service SAS; an Entra ID credential signs a user delegation SAS (a key the service hands out
for at most 7 days; "Create a user delegation SAS", https://learn.microsoft.com/en-us/rest/api/storageservices/create-user-delegation-sas).
A client that itself holds only a SAS cannot sign another one: that is a configuration error naming who acts.
The response's content type is set in the SAS too (``rsct``, "Create a service SAS": signed response headers), so a
report written before uploads carried a content type still renders in the browser instead of downloading.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_cio.errors import CioError, ErrorClass
from airflow_provider_cio.storage.content_types import content_type

DEFAULT_MINUTES = 15


class CannotSign(CioError, RuntimeError):
    """The Blob credentials cannot sign a SAS (the connection holds a SAS itself, or nothing)."""

    error_class = ErrorClass.CONFIGURATION
    who_must_act = "the Airflow admin: give the wasb connection an account key or an Entra ID identity"


def read_only_url(
    service: Any, container: str, path: str, *, minutes: float = DEFAULT_MINUTES, now: datetime | None = None
) -> str:
    """``https://<account>/<container>/<path>?<sas>``: read permission only, valid ``minutes`` from ``now``.

    ``service`` is a ``BlobServiceClient`` (``WasbHook.blob_service_client``); its credential decides the kind of
    SAS. The start is backdated five minutes for clock skew between this machine and the service."""
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    moment = now or datetime.now(UTC)
    start, expiry = moment - timedelta(minutes=5), moment + timedelta(minutes=minutes)
    credential = getattr(service, "credential", None)
    signing: dict[str, Any] = {}
    account_key = getattr(credential, "account_key", None)
    if account_key:
        signing["account_key"] = account_key
    elif credential is not None and hasattr(credential, "get_token"):
        signing["user_delegation_key"] = service.get_user_delegation_key(start, expiry)
    else:
        raise CannotSign(
            "cannot sign a read link for the report: the Blob connection holds no account key and no Entra ID "
            f"credential (a SAS cannot sign another SAS); who acts: {CannotSign.who_must_act}"
        )
    headers: dict[str, Any] = {"content_type": kind} if (kind := content_type(path)) else {}
    token = generate_blob_sas(
        account_name=service.account_name,
        container_name=container,
        blob_name=path,
        permission=BlobSasPermissions(read=True),
        start=start,
        expiry=expiry,
        content_disposition="inline",
        **headers,
        **signing,
    )
    blob_url = service.get_blob_client(container, path).url.split("?", 1)[0]
    return f"{blob_url}?{token}"
