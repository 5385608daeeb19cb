"""A finished download's spool, handed to Arrow directly: every byte, whatever the spool's kind, in bounded memory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

import pytest

from airflow_provider_cio.customerio.spool import SpooledBytes

DATA = os.urandom(3 * 1024 * 1024 + 123)


def _spool(kind: str, tmp_path: Path) -> IO[bytes]:
    if kind == "file":
        path = tmp_path / "export.csv"
        path.write_bytes(DATA)
        return path.open("rb")
    if kind == "empty-file":
        path = tmp_path / "empty.csv"
        path.write_bytes(b"")
        return path.open("rb")
    # the client's spool; rolled over to disk, its last writes still in Python's buffer
    spool = tempfile.SpooledTemporaryFile(max_size=len(DATA) + 1 if kind == "in-memory" else 1000)  # noqa: SIM115
    spool.write(DATA[:-100])
    spool.write(DATA[-100:])
    return spool  # type: ignore[return-value]


@pytest.mark.parametrize("kind", ["file", "empty-file", "in-memory", "rolled-over"])
def test_arrow_input_reads_every_byte_of_each_kind_of_spool(kind: str, tmp_path: Path) -> None:
    expected = b"" if kind == "empty-file" else DATA
    with SpooledBytes(_spool(kind, tmp_path)) as spool:
        assert spool.arrow_input().stream.read() == expected
        assert spool.arrow_input().stream.read() == expected  # every call starts at byte zero
        assert b"".join(spool) == expected


def _resident_kib(path: Path) -> int:
    """Resident size of this process's mappings of ``path`` (Linux ``/proc/self/smaps``)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            inside = fields[-1] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc")
def test_released_pages_leave_the_process_and_read_back_the_same(tmp_path: Path) -> None:
    """Pages the parser has passed stop counting as the process's memory; read again, they hold the same bytes."""
    path = tmp_path / "export.csv"
    path.write_bytes(DATA)
    with SpooledBytes(path.open("rb")) as spool:
        mapped = spool.arrow_input()
        assert mapped.stream.read() == DATA
        assert _resident_kib(path) >= len(DATA) // 1024 - 64  # all of it touched
        mapped.release_before(len(DATA) // 2)
        assert _resident_kib(path) <= len(DATA) // 2048 + 64  # the first half handed back
        mapped.release_before(len(DATA))
        assert _resident_kib(path) <= 64
        mapped.stream.seek(0)
        assert mapped.stream.read() == DATA
