"""Read-only SAS links to reports, against Azurite through the real SDK: they open without credentials, render
(content type), refuse writes, expire; a credential that cannot sign is a configuration error."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.links.sas import CannotSign, read_only_url
from airflow_provider_cio.storage.azure import AzureObjectStore
from airflow_provider_cio.storage.content_types import content_type
from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import blob_connection_string

PAGE = b"<html><body><h1>gate report</h1></body></html>"


@pytest.fixture
def service(devstack: Devstack) -> Any:
    from azure.storage.blob import BlobServiceClient

    port = devstack.read_state()["services"]["azurite"]["port"]
    return BlobServiceClient.from_connection_string(blob_connection_string(port))


@pytest.fixture
def container(service: Any) -> str:
    name = f"links{uuid.uuid4().hex[:12]}"
    service.create_container(name)
    return name


def _get(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, method=method, data=data, headers={"x-ms-blob-type": "BlockBlob"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, "", b""


def test_report_uploaded_by_the_store_opens_rendered_from_its_link(service: Any, container: str) -> None:
    store = AzureObjectStore(service.get_container_client(container))
    store.write_bytes("landing/dev/demo/deliveries/dt=2026-11-01/_quality/report.html", PAGE)
    store.write_bytes("landing/dev/demo/sync_history/_trend/a.png", b"\x89PNG\r\n")
    props = service.get_blob_client(
        container, "landing/dev/demo/sync_history/_trend/a.png"
    ).get_blob_properties()
    assert props.content_settings.content_type == "image/png"  # stored with its type, not octet-stream

    url = read_only_url(service, container, "landing/dev/demo/deliveries/dt=2026-11-01/_quality/report.html")
    assert "sp=r&" in url and "sig=" in url
    status, kind, body = _get(url)
    assert (status, body) == (200, PAGE)
    assert kind.startswith("text/html")


def test_old_blob_without_content_type_still_renders_through_the_link(service: Any, container: str) -> None:
    """A report uploaded before uploads carried a type: the SAS's response content type (rsct) fixes it."""
    service.get_blob_client(container, "old/report.html").upload_blob(PAGE)
    status, kind, _ = _get(read_only_url(service, container, "old/report.html"))
    assert status == 200 and kind.startswith("text/html")


def test_link_reads_only_that_blob_and_refuses_writes(service: Any, container: str) -> None:
    store = AzureObjectStore(service.get_container_client(container))
    store.write_bytes("r/report.html", PAGE)
    store.write_bytes("r/other.html", b"other")
    url = read_only_url(service, container, "r/report.html")
    assert _get(url, "PUT", b"overwritten")[0] == 403
    assert _get(url.replace("r/report.html", "r/other.html"))[0] == 403  # signed for one blob only
    assert store.read_bytes("r/report.html") == PAGE


def test_link_expires(service: Any, container: str) -> None:
    AzureObjectStore(service.get_container_client(container)).write_bytes("r/report.html", PAGE)
    past = datetime.now(UTC) - timedelta(hours=2)
    assert _get(read_only_url(service, container, "r/report.html", minutes=15, now=past))[0] == 403


def test_sas_credential_cannot_sign_another_sas(service: Any, container: str) -> None:
    from azure.storage.blob import BlobServiceClient

    holder = BlobServiceClient(service.url, credential="sv=2024-11-04&sp=r&sig=abc")
    with pytest.raises(CannotSign, match="no account key and no Entra ID") as caught:
        read_only_url(holder, container, "r/report.html")
    assert caught.value.error_class == "configuration"
    assert "sig=abc" not in str(caught.value)


class _EntraService:
    """A service client holding an Entra ID credential: the delegation key is what the service would hand out."""

    account_name = "acct"
    url = "https://acct.blob.core.windows.net"

    def __init__(self) -> None:
        from azure.storage.blob import UserDelegationKey

        self.credential = type("Token", (), {"get_token": lambda self, *a, **k: None})()
        self.asked: list[tuple[datetime, datetime]] = []
        key = UserDelegationKey()
        key.signed_oid, key.signed_tid = "00000000-0000-0000-0000-000000000001", "tenant"
        key.signed_start, key.signed_expiry = "2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z"
        key.signed_service, key.signed_version, key.value = "b", "2025-01-05", "a2V5"
        self.key = key

    def get_user_delegation_key(self, start: datetime, expiry: datetime) -> Any:
        self.asked.append((start, expiry))
        return self.key

    def get_blob_client(self, container: str, path: str) -> Any:
        from azure.storage.blob import BlobClient

        return BlobClient(self.url, container, path)


def test_entra_credential_signs_a_user_delegation_sas_for_the_link_lifetime() -> None:
    service = _EntraService()
    now = datetime(2026, 11, 1, 0, 10, tzinfo=UTC)
    url = read_only_url(service, "c", "r/report.html", minutes=15, now=now)
    assert service.asked == [(now - timedelta(minutes=5), now + timedelta(minutes=15))]
    assert "skoid=00000000-0000-0000-0000-000000000001" in url and "sp=r&" in url
    assert url.startswith("https://acct.blob.core.windows.net/c/r/report.html?")


@given(st.text(min_size=0, max_size=30))
def test_content_type_only_for_report_suffixes(name: str) -> None:
    kind = content_type(f"landing/x/{name}")
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else None
    expected = {"html": "text/html", "png": "image/png", "json": "application/json", "txt": "text/plain"}
    if suffix in expected:
        assert kind is not None and kind.startswith(expected[suffix])
    else:
        assert kind is None
