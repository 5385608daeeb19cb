"""A finished download held in a seekable file, readable from byte zero as many times as a parser needs.

The export parser first tries the fast way (Arrow parses timestamps while it splits the CSV) and, when a value does
not fit, parses the same bytes again the tolerant way. That second pass needs the bytes again: the download is
already complete in a spool (memory, then a temp file), so replaying it costs a disk read, never a new download.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


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

    def arrow_input(self) -> ArrowInput:
        """All the bytes, from the start, as an Arrow stream that Arrow reads without Python in between.

        A spool on disk is memory-mapped: Arrow parses straight from the page cache. Reading it through Python
        instead copied every byte twice into freshly allocated memory, and on a 1M-row export those copies and
        their page faults cost more CPU than the rest of the read (``bench/RESULTS.md``, landing). A spool still
        in memory (at most the client's ``spool_in_memory``) is handed over as one buffer.
        """
        import pyarrow as pa

        if getattr(self._file, "name", None) is None:  # in memory: SpooledTemporaryFile before it rolls over
            self._file.seek(0)
            return ArrowInput(pa.BufferReader(self._file.read()), None)
        self._file.flush()  # the mapping sees only what reached the file descriptor
        fd = self._file.fileno()
        if os.fstat(fd).st_size == 0:
            return ArrowInput(pa.BufferReader(b""), None)
        mapping = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        return ArrowInput(pa.BufferReader(pa.py_buffer(mapping)), mapping)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledBytes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ArrowInput:
    """An Arrow stream over a spool, and a way to hand back the mapped pages a parser has gone past.

    Mapped pages count as the process's memory while they stay mapped. Releasing them behind the parser keeps
    memory flat however large the export is; a released page that is read again is simply read again from the page
    cache, so releasing too early costs time, never correctness. The mapping itself is unmapped when Arrow drops
    its last buffer (closing the spool's file does not invalidate it).
    """

    def __init__(self, stream: pa.NativeFile, mapping: mmap.mmap | None) -> None:
        self.stream = stream
        self._mapping = mapping
        self._released = 0

    def release_before(self, offset: int) -> None:
        """Give back the mapped pages wholly before byte ``offset``."""
        if self._mapping is None or not hasattr(mmap, "MADV_DONTNEED"):  # no madvise: Windows
            return
        end = min(offset, len(self._mapping)) // mmap.PAGESIZE * mmap.PAGESIZE
        if end > self._released:
            self._mapping.madvise(mmap.MADV_DONTNEED, self._released, end - self._released)
            self._released = end
