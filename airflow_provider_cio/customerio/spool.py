"""A finished download held in a seekable file, readable from byte zero as many times as a parser needs.

The export parser first tries the fast way (Arrow parses timestamps while it splits the CSV) and, when a value does
not fit, parses the same bytes again the tolerant way. That second pass needs the bytes again: the download is
already complete in a spool (memory, then a temp file), so replaying it costs a disk read, never a new download.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO


class SpooledBytes:
    """Iterable any number of times, each pass in ``chunk_size`` chunks from the start; close() frees the spool.

    Every pass keeps its own offset, so a pass that is abandoned half-way never disturbs the next one.
    """

    def __init__(self, file: IO[bytes], chunk_size: int = 1024 * 1024) -> None:
        self._file = file
        self._chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        offset = 0
        while True:
            self._file.seek(offset)
            chunk = self._file.read(self._chunk_size)
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledBytes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
