"""The storage protocol the domain core depends on.

The core never imports Airflow or the Azure SDK directly: it receives an ``ObjectStore``. In production that is
``AzureObjectStore`` (built from ``WasbHook.blob_service_client``); in unit tests it is ``MemoryObjectStore``.
Paths are ``/``-separated names inside one container.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple, Protocol, runtime_checkable


class BlobNotFound(KeyError):
    """The named object does not exist."""


class PreconditionFailed(RuntimeError):
    """A conditional write lost a race (the object exists, or its etag changed)."""


class ReadRefused(PermissionError):
    """The credentials may write but not read (a container SAS with create+write only): raised by
    ``read_versioned`` so that a writer can still commit, without what a read would have given it."""


class Versioned(NamedTuple):
    """An object's content and the ETag it had when read: the condition of a later compare-and-swap write."""

    data: bytes
    etag: str


@runtime_checkable
class ObjectStore(Protocol):
    """What the core needs from Blob: whole-object reads and writes, listing, deletion, conditional create."""

    def read_bytes(self, path: str) -> bytes:
        """Return the object's content; raise ``BlobNotFound`` if missing."""

    def open_chunks(self, path: str) -> Iterator[bytes]:
        """Stream the object's content in chunks; raise ``BlobNotFound`` if missing."""

    def read_versioned(self, path: str) -> Versioned:
        """The object's content with its ETag (one request: both describe the same version); ``BlobNotFound``;
        ``ReadRefused`` when the credentials may not read."""

    def write_bytes(
        self, path: str, data: bytes | Iterable[bytes], *, overwrite: bool = True, if_match: str | None = None
    ) -> None:
        """Write an object in one commit (readers see the old or the new content, never a mix).

        With ``overwrite=False`` (If-None-Match: *) raise ``PreconditionFailed`` if the object exists; with
        ``if_match`` (If-Match) raise it unless the object exists with exactly that ETag.
        """

    def exists(self, path: str) -> bool: ...

    def list(self, prefix: str) -> list[str]:
        """Full names of all objects under ``prefix`` (recursive), sorted."""

    def delete(self, path: str) -> None:
        """Delete one object; a missing object is not an error."""

    def url(self, path: str) -> str:
        """A human-readable location for reports and messages (no secrets)."""
