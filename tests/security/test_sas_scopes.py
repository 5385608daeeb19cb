"""Least-privilege Blob credentials, enforced by Azurite: a landing writes with a container-scoped write-only SAS
(create+write: no read, list or delete) through ``WasbHook``; a read-only SAS (read+list) reads it back exactly; a
write with the read-only SAS is refused (403), and the write-only SAS can read nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from airflow_provider_cio.landing.layout import PartitionRef
from cio_devkit.devstack.stack import AZURITE_ACCOUNT, AZURITE_KEY, blob_connection_string


def _sas(container: str, **permissions: bool) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    now = datetime.now(UTC)
    return generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(**permissions),
        start=now - timedelta(minutes=5),
        expiry=now + timedelta(hours=1),
    )


@pytest.fixture
def scoped(devstack, monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh container plus two Airflow connections to it: ``cio_landing_w`` (write-only), ``cio_landing_r``."""
    from azure.storage.blob import BlobServiceClient

    port = devstack.read_state()["services"]["azurite"]["port"]
    container = f"sas{uuid.uuid4().hex[:12]}"
    BlobServiceClient.from_connection_string(blob_connection_string(port)).create_container(container)
    host = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    for conn_id, token in (
        ("cio_landing_w", _sas(container, create=True, write=True)),
        ("cio_landing_r", _sas(container, read=True, list=True)),
    ):
        conn = {"conn_type": "wasb", "host": host, "extra": {"sas_token": token}}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return container


def _events(first: int, rows: int) -> pa.Table:
    return pa.table({"event_id": [f"ev-{i:07d}" for i in range(first, first + rows)], "n": list(range(rows))})


def test_write_only_sas_lands_and_read_only_sas_reads_it_back(scoped) -> None:
    from azure.core.exceptions import HttpResponseError

    from airflow_provider_cio.hooks.blob import object_store
    from airflow_provider_cio.landing.reader import read_manifest, read_table
    from airflow_provider_cio.landing.writer import write_table

    writer, reader = object_store("cio_landing_w", scoped), object_store("cio_landing_r", scoped)
    ref = PartitionRef("landing", "dev", "sas", "events", date(2026, 11, 1))
    first = write_table(writer, ref, _events(0, 5_000), part_rows=2_000)
    assert read_table(reader, ref).equals(_events(0, 5_000))

    # a retried landing with the same write-only SAS: the manifest switches; the old parts stay (no delete right)
    second = write_table(writer, ref, _events(10_000, 3_000), part_rows=2_000)
    assert read_manifest(reader, ref).generation == second.generation != first.generation
    assert read_table(reader, ref).equals(_events(10_000, 3_000))
    leftovers = set(reader.list(ref.prefix + "/")) - {p.path for p in second.parts} - {ref.manifest_path}
    assert leftovers == {p.path for p in first.parts}

    for attempt in (lambda: writer.read_bytes(ref.manifest_path), lambda: writer.list("landing/")):
        with pytest.raises(HttpResponseError) as err:
            attempt()
        assert err.value.status_code == 403


def test_read_only_sas_cannot_write_or_delete(scoped) -> None:
    from azure.core.exceptions import HttpResponseError

    from airflow_provider_cio.hooks.blob import object_store
    from airflow_provider_cio.landing.writer import write_table

    writer, reader = object_store("cio_landing_w", scoped), object_store("cio_landing_r", scoped)
    ref = PartitionRef("landing", "dev", "sas", "events", date(2026, 11, 2))
    manifest = write_table(writer, ref, _events(0, 100))
    with pytest.raises(HttpResponseError) as err:
        write_table(reader, ref, _events(0, 100))
    assert err.value.status_code == 403 and err.value.error_code == "AuthorizationPermissionMismatch"
    with pytest.raises(HttpResponseError) as err:
        reader.delete(manifest.parts[0].path)
    assert err.value.status_code == 403
    assert reader.list(ref.prefix + "/") == sorted([p.path for p in manifest.parts] + [ref.manifest_path])


def test_the_container_is_created_by_the_first_write_and_a_sas_that_may_not_gets_not_found(devstack) -> None:  # type: ignore[no-untyped-def]
    """No request up front: a listing of a missing container is empty, the first write creates it (account key);
    with a container SAS, which may not create containers, that write fails naming the missing container."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient, ContainerClient

    from airflow_provider_cio.storage.azure import AzureObjectStore

    port = devstack.read_state()["services"]["azurite"]["port"]
    service = BlobServiceClient.from_connection_string(blob_connection_string(port))
    fresh = f"lazy{uuid.uuid4().hex[:12]}"
    store = AzureObjectStore(service.get_container_client(fresh))
    assert not service.get_container_client(fresh).exists()  # constructing the store asked nothing
    assert store.list("landing/") == []
    store.write_bytes("landing/a.json", b"{}")
    assert store.list("landing/") == ["landing/a.json"] and store.read_bytes("landing/a.json") == b"{}"

    missing = f"nosas{uuid.uuid4().hex[:12]}"
    token = _sas(missing, create=True, write=True, list=True)
    sas_store = AzureObjectStore(
        ContainerClient(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}", missing, credential=token)
    )
    with pytest.raises(ResourceNotFoundError) as err:
        sas_store.write_bytes("landing/a.json", b"{}")
    assert err.value.error_code == "ContainerNotFound"
    assert not service.get_container_client(missing).exists()
