"""``ObjectStore`` over one Azure Blob container (works unchanged against Azurite).

Built from a ``ContainerClient``; the Airflow adapter gets that client from ``WasbHook.blob_service_client`` so
credentials stay owned by the azure provider's connection handling.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.storage.base import BlobNotFound, PreconditionFailed

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

SINGLE_PUT_LIMIT = 64 * 1024 * 1024


class AzureObjectStore:
    """One container; every write is a single commit (one Put Blob, or staged blocks then one Put Block List)."""

    def __init__(self, container: ContainerClient, *, create_container: bool = True) -> None:
        self._container = container
        if create_container:
            from azure.core.exceptions import ResourceExistsError

            with contextlib.suppress(ResourceExistsError):
                container.create_container()

    @property
    def container_name(self) -> str:
        return str(self._container.container_name)

    def read_bytes(self, path: str) -> bytes:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return bytes(self._container.download_blob(path).readall())
        except ResourceNotFoundError:
            raise BlobNotFound(path) from None

    def open_chunks(self, path: str) -> Iterator[bytes]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            stream = self._container.download_blob(path)
        except ResourceNotFoundError:
            raise BlobNotFound(path) from None
        yield from stream.chunks()

    def write_bytes(self, path: str, data: bytes | Iterable[bytes], *, overwrite: bool = True) -> None:
        from azure.core.exceptions import ResourceExistsError

        kwargs: dict[str, Any] = {"overwrite": overwrite, "max_concurrency": 2}
        payload: Any = data if isinstance(data, bytes) else b"".join(data)
        try:
            self._container.upload_blob(path, payload, **kwargs)
        except ResourceExistsError:
            raise PreconditionFailed(f"{path} already exists") from None

    def exists(self, path: str) -> bool:
        return bool(self._container.get_blob_client(path).exists())

    def list(self, prefix: str) -> list[str]:
        return sorted(blob.name for blob in self._container.list_blobs(name_starts_with=prefix))

    def delete(self, path: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):
            self._container.delete_blob(path)

    def url(self, path: str) -> str:
        return f"{self._container.url.split('?')[0]}/{path}"
