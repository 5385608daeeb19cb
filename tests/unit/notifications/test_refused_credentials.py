"""Credentials that may not make a request are configuration, not platform: Azurite refuses a write with a read-only
SAS (403 AuthorizationPermissionMismatch) and any request with an expired SAS (403 AuthenticationFailed); the task
fails at once (no retry burned) and the on-call message says who acts. An unknown Customer.io region is
configuration too (it was a bare ``ValueError``, classed bug)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from airflow_provider_cio.notifications.triage import classify, triage
from cio_devkit.devstack.stack import AZURITE_ACCOUNT, AZURITE_KEY, blob_connection_string


def _sas(container: str, *, expired: bool = False, **permissions: bool) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    now = datetime.now(UTC)
    return generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(**permissions),
        start=now - timedelta(hours=3),
        expiry=now - timedelta(hours=1) if expired else now + timedelta(hours=1),
    )


@pytest.fixture
def refused_stores(devstack, monkeypatch):  # type: ignore[no-untyped-def]
    """Stores on one fresh container through WasbHook: read-only SAS, and an expired read+write SAS."""
    from azure.storage.blob import BlobServiceClient

    from airflow_provider_cio.hooks.blob import object_store

    port = devstack.read_state()["services"]["azurite"]["port"]
    container = f"refused{uuid.uuid4().hex[:10]}"
    BlobServiceClient.from_connection_string(blob_connection_string(port)).create_container(container)
    host = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    tokens = {
        "cio_read_only": _sas(container, read=True, list=True),
        "cio_expired": _sas(container, expired=True, read=True, list=True, write=True, create=True),
    }
    for conn_id, token in tokens.items():
        conn = {"conn_type": "wasb", "host": host, "extra": {"sas_token": token}}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return {conn_id: object_store(conn_id, container) for conn_id in tokens}


@pytest.mark.parametrize("conn_id", ["cio_read_only", "cio_expired"])
def test_a_refused_blob_write_is_configuration_and_fails_fast(refused_stores, conn_id: str) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_cio.operators._failfast import fail_fast

    with pytest.raises(Exception) as refused:
        refused_stores[conn_id].write_bytes("landing/x/_manifest.json", b"{}")
    assert getattr(refused.value, "status_code", None) == 403
    assert classify(refused.value) == "configuration"

    with pytest.raises(AirflowFailException) as failed, fail_fast():
        refused_stores[conn_id].write_bytes("landing/x/_manifest.json", b"{}")
    assert classify(failed.value) == "configuration"

    message = triage(
        failed.value, dag_id="cio_export", task_id="land_people", run_id="r", partition="2026-11-01"
    ).message()
    assert message.startswith("[CONFIGURATION]")
    assert "Who acts: the owner of the Blob connection" in message
    assert "#configuration-errors" in message
    assert "sig=" not in message


def test_an_expired_sas_is_refused_on_read_as_well(refused_stores) -> None:
    with pytest.raises(Exception) as refused:
        refused_stores["cio_expired"].list("landing/")
    assert classify(refused.value) == "configuration"


def test_other_blob_http_errors_stay_platform() -> None:
    from azure.core.exceptions import HttpResponseError

    for status, expected in (
        (403, "configuration"),
        (401, "configuration"),
        (500, "platform"),
        (503, "platform"),
    ):
        error = HttpResponseError(message=f"status {status}")
        error.status_code = status
        assert classify(error) == expected, status


@pytest.mark.parametrize("region", ["ap", "EU-west", "usa", " "])
def test_an_unknown_customerio_region_is_configuration_naming_the_connection(region: str) -> None:
    from airflow_provider_cio.hooks.customerio import client_from_connection

    conn = SimpleNamespace(password="k" * 20, host=None, extra_dejson={"region": region})
    with pytest.raises(Exception) as bad:
        client_from_connection("cio_api", conn)
    assert classify(bad.value) == "configuration"
    assert "cio_api" in str(bad.value) and "region" in str(bad.value) and "eu, us" in str(bad.value)


@pytest.mark.parametrize("region", ["us", "EU", "eu", None])
def test_known_regions_still_build_a_client(region: str | None) -> None:
    from airflow_provider_cio.hooks.customerio import client_from_connection

    extra = {"region": region} if region is not None else {}
    client = client_from_connection(
        "cio_api", SimpleNamespace(password="k" * 20, host=None, extra_dejson=extra)
    )
    assert client.base_url.startswith("https://api")
