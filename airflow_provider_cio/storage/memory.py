"""An in-process ``ObjectStore`` for unit tests and dry runs."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator

from airflow_provider_cio.storage.base import BlobNotFound, PreconditionFailed, Versioned


class MemoryObjectStore:
    """Dictionary-backed store with the same semantics as ``AzureObjectStore``, conditional writes included: every
    write gives the object a new ETag, ``if_match`` / ``overwrite=False`` are checked and applied under one lock (as
    Blob Storage checks a condition and writes in one step), so concurrent writers in tests race as they would."""

    def __init__(self, name: str = "memory") -> None:
        self._name = name
        self._objects: dict[str, bytes] = {}
        self._etags: dict[str, str] = {}
        self._versions = itertools.count(1)
        self._lock = threading.Lock()

    def read_bytes(self, path: str) -> bytes:
        return self.read_versioned(path).data

    def read_versioned(self, path: str) -> Versioned:
        with self._lock:
            try:
                return Versioned(self._objects[path], self._etags[path])
            except KeyError:
                raise BlobNotFound(path) from None

    def open_chunks(self, path: str) -> Iterator[bytes]:
        data = self.read_bytes(path)
        step = 4 * 1024 * 1024
        for start in range(0, len(data), step):
            yield data[start : start + step]

    def write_bytes(
        self, path: str, data: bytes | Iterable[bytes], *, overwrite: bool = True, if_match: str | None = None
    ) -> None:
        payload = data if isinstance(data, bytes) else b"".join(data)
        with self._lock:
            if if_match is not None and self._etags.get(path) != if_match:
                raise PreconditionFailed(f"{path} changed since it was read (etag mismatch)")
            if if_match is None and not overwrite and path in self._objects:
                raise PreconditionFailed(f"{path} already exists")
            self._objects[path] = payload
            self._etags[path] = f'"0x{next(self._versions):x}"'

    def exists(self, path: str) -> bool:
        return path in self._objects

    def list(self, prefix: str) -> list[str]:
        with self._lock:
            return sorted(name for name in self._objects if name.startswith(prefix))

    def delete(self, path: str) -> None:
        with self._lock:
            self._objects.pop(path, None)
            self._etags.pop(path, None)

    def url(self, path: str) -> str:
        return f"memory://{self._name}/{path}"
