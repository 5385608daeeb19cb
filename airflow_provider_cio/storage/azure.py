"""``ObjectStore`` over one Azure Blob container (works unchanged against Azurite).

Built from a ``ContainerClient``; the Airflow adapter gets that client from ``WasbHook.blob_service_client`` so
credentials stay owned by the azure provider's connection handling.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.storage.base import BlobNotFound, PreconditionFailed, ReadRefused, Versioned
from airflow_provider_cio.storage.content_types import content_type

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

SINGLE_PUT_LIMIT = 64 * 1024 * 1024


class AzureObjectStore:
    """One container; every write is a single commit (one Put Blob, or staged blocks then one Put Block List)."""

    def __init__(self, container: ContainerClient, *, create_container: bool = True) -> None:
        """``create_container``: create the container when a write finds it missing (not up front: that cost every
        task one request, 10 ms on the critical path of a 1M-row landing); a listing of it then sees it empty."""
        self._container = container
        self._create_container = create_container

    @property
    def container_name(self) -> str:
        return str(self._container.container_name)

    def read_bytes(self, path: str) -> bytes:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return bytes(self._container.download_blob(path).readall())
        except ResourceNotFoundError:
            raise BlobNotFound(path) from None

    def read_versioned(self, path: str) -> Versioned:
        """One download: its content and ETag describe the same version (the SDK pins later ranges to that ETag)."""
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        try:
            download = self._container.download_blob(path)
            return Versioned(bytes(download.readall()), str(download.properties.etag))
        except ResourceNotFoundError:
            raise BlobNotFound(path) from None
        except HttpResponseError as refused:
            if (
                refused.status_code == 403
                and getattr(refused, "error_code", None) == "AuthorizationPermissionMismatch"
            ):
                raise ReadRefused(f"{path}: the credentials may not read it") from refused
            raise

    def open_chunks(self, path: str) -> Iterator[bytes]:
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        try:
            stream = self._container.download_blob(path)
            # later ranges are pinned to the first response's ETag: a blob deleted (or replaced) mid-read ends here
            yield from stream.chunks()
        except (ResourceNotFoundError, ResourceModifiedError):
            raise BlobNotFound(path) from None

    def write_bytes(
        self, path: str, data: bytes | Iterable[bytes], *, overwrite: bool = True, if_match: str | None = None
    ) -> None:
        """One Put Blob (or blocks + one Put Block List). ``if_match`` goes out as the SDK's ``etag`` +
        ``MatchConditions.IfNotModified`` (the If-Match header, on the single put and on the block list commit);
        ``overwrite=False`` as If-None-Match: *. A lost condition is 412 (ConditionNotMet) or 409 (BlobAlreadyExists);
        If-Match on a missing blob is 404 or 412 depending on the service: all of them are ``PreconditionFailed``."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

        kwargs: dict[str, Any] = {"overwrite": overwrite, "max_concurrency": 2}
        if kind := content_type(path):  # reports open in the browser (rendered, not downloaded)
            from azure.storage.blob import ContentSettings

            kwargs["content_settings"] = ContentSettings(content_type=kind)
        if if_match is not None:
            kwargs.update(overwrite=True, etag=if_match, match_condition=MatchConditions.IfNotModified)
        payload: Any = data if isinstance(data, bytes) else b"".join(data)
        try:
            try:
                self._container.upload_blob(path, payload, **kwargs)
            except ResourceNotFoundError as missing:
                if not self._container_missing(missing):
                    raise
                self._make_container(missing)
                self._container.upload_blob(path, payload, **kwargs)
        except ResourceExistsError:
            raise PreconditionFailed(f"{path} already exists") from None
        except ResourceModifiedError:
            raise PreconditionFailed(f"{path} changed since it was read (etag mismatch)") from None
        except ResourceNotFoundError as missing:
            if if_match is not None and getattr(missing, "error_code", None) != "ContainerNotFound":
                raise PreconditionFailed(f"{path} no longer exists (etag condition)") from None
            raise

    def _container_missing(self, error: Exception) -> bool:
        return self._create_container and getattr(error, "error_code", None) == "ContainerNotFound"

    def _make_container(self, missing: Exception) -> None:
        """Create the container; with credentials that may not (a container SAS) the write fails as not found."""
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        try:
            self._container.create_container()
        except ResourceExistsError:  # created meanwhile
            pass
        except HttpResponseError as refused:
            if refused.status_code == 403:
                raise missing from None
            raise

    def exists(self, path: str) -> bool:
        return bool(self._container.get_blob_client(path).exists())

    def list(self, prefix: str) -> list[str]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return sorted(blob.name for blob in self._container.list_blobs(name_starts_with=prefix))
        except ResourceNotFoundError as missing:
            if self._container_missing(missing):  # it would be created, empty, by the first write
                return []
            raise

    def delete(self, path: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):
            self._container.delete_blob(path)

    def url(self, path: str) -> str:
        return f"{self._container.url.split('?')[0]}/{path}"
