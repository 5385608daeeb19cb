"""An in-process ``ObjectStore`` for unit tests and dry runs."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from airflow_provider_cio.storage.base import BlobNotFound, PreconditionFailed


class MemoryObjectStore:
    """Dictionary-backed store with the same semantics as ``AzureObjectStore``."""

    def __init__(self, name: str = "memory") -> None:
        self._name = name
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def read_bytes(self, path: str) -> bytes:
        try:
            return self._objects[path]
        except KeyError:
            raise BlobNotFound(path) from None

    def open_chunks(self, path: str) -> Iterator[bytes]:
        data = self.read_bytes(path)
        step = 4 * 1024 * 1024
        for start in range(0, len(data), step):
            yield data[start : start + step]

    def write_bytes(self, path: str, data: bytes | Iterable[bytes], *, overwrite: bool = True) -> None:
        payload = data if isinstance(data, bytes) else b"".join(data)
        with self._lock:
            if not overwrite and path in self._objects:
                raise PreconditionFailed(f"{path} already exists")
            self._objects[path] = payload

    def exists(self, path: str) -> bool:
        return path in self._objects

    def list(self, prefix: str) -> list[str]:
        return sorted(name for name in self._objects if name.startswith(prefix))

    def delete(self, path: str) -> None:
        self._objects.pop(path, None)

    def url(self, path: str) -> str:
        return f"memory://{self._name}/{path}"
