"""A throwaway PostgreSQL for the warehouse benchmarks, started the way tests/warehouse/conftest.py and
scripts/test_distributed.sh start theirs (Debian's binaries, as the ``postgres`` user when root, a free loopback
port, a temp folder, fsync off), stopped at the end. Install the ``postgresql`` package first if it is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bindir() -> Path:
    for directory in sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    ):
        if (directory / "initdb").exists():
            return directory
    raise RuntimeError("PostgreSQL is not installed (Debian/Ubuntu: apt-get install -y postgresql)")


@contextmanager
def local_postgres() -> Iterator[str]:
    """Yields a ``postgresql://`` URI (user ``cio``, trust auth, database ``warehouse``)."""
    bindir = _bindir()
    work = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    work.chmod(0o755)
    data, sock = work / "data", work / "sock"
    data.mkdir()
    sock.mkdir()
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(data, "postgres")
        shutil.chown(sock, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*cmd: str) -> None:
        subprocess.run([*as_pg, *cmd], check=True, capture_output=True, cwd=work, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "cio", "--auth=trust", "-E", "UTF8")
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data / "log"), "-w", "-o", opts, "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "cio", "warehouse")
        yield f"postgresql://cio@127.0.0.1:{port}/warehouse"
    finally:
        subprocess.run(
            [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            cwd=work,
            timeout=60,
        )
        shutil.rmtree(work, ignore_errors=True)
