"""A throwaway PostgreSQL from Debian's packages, written once for the warehouse tests, the warehouse benchmarks and
``make test-distributed`` (``python -m cio_devkit.devstack.postgres start|stop``).

Why like this: PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (which owns
the data and socket folders); it listens on loopback only, on a free port, in a folder of its own, with fsync off
(throwaway data). Debian's ``postgresql`` package is installed with apt-get when it is missing and we may (root);
otherwise, and whenever the server cannot start, ``PostgresUnavailable`` says why (initdb's or pg_ctl's message and
the server log's tail): callers fail with it, nothing is skipped silently.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APT_PACKAGE = "postgresql"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is missing or did not start (the message says which step failed and why)."""


@dataclass(frozen=True)
class LocalPostgres:
    """A running server: trust authentication for ``user`` on 127.0.0.1:``port``, database ``dbname``."""

    port: int
    user: str
    dbname: str
    work: Path
    host: str = "127.0.0.1"

    @property
    def uri(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def connect(self) -> Any:
        """A psycopg 3 connection (the driver the warehouse engine and tests use)."""
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname=self.dbname)


def bindir() -> Path | None:
    """The newest Debian ``/usr/lib/postgresql/N/bin`` with initdb and pg_ctl, else those on PATH, else None."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def install() -> Path:
    """The binaries' folder, installing Debian's package first when it is missing and we are root."""
    found = bindir()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresUnavailable(
            f"PostgreSQL is missing: install it (Debian/Ubuntu: sudo apt-get install -y {APT_PACKAGE})"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", APT_PACKAGE]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode:
            raise PostgresUnavailable(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
    found = bindir()
    if found is None:
        raise PostgresUnavailable(
            "apt-get installed postgresql but no initdb/pg_ctl was found under /usr/lib/postgresql"
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(cmd: Sequence[str], work: Path, log: Path, *, timeout: float = 120) -> None:
    done = subprocess.run([*_as_postgres(), *cmd], capture_output=True, text=True, timeout=timeout, cwd=work)
    if done.returncode:
        tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
        raise PostgresUnavailable(
            f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-800:]} {tail}".strip()
        )


def start(
    work: Path,
    *,
    user: str = "cio",
    dbname: str = "warehouse",
    port: int | None = None,
    settings: Mapping[str, str] | None = None,
) -> LocalPostgres:
    """initdb a cluster under ``work`` (data/, sock/, postgres.log), start it and create ``dbname``.
    ``settings`` are extra server settings (``max_connections``: ``200``, ...)."""
    binaries = install()
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # the postgres user must reach its folders inside
    if os.geteuid() == 0:
        closed = [str(p) for p in work.resolve().parents if not p.stat().st_mode & 0o001]
        if closed:
            raise PostgresUnavailable(
                f"the postgres user cannot reach {work}: {closed[0]} is not searchable by others (chmod o+x "
                "it, or start in a folder of its own under /tmp)"
            )
    data, sock, log = work / "data", work / "sock", work / "postgres.log"
    data.mkdir(exist_ok=True)
    sock.mkdir(exist_ok=True)
    log.touch()
    if os.geteuid() == 0:
        for path in (data, sock, log):
            shutil.chown(path, "postgres")
    port = port or free_port()
    _run(
        [
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ],
        work,
        log,
    )
    options = " ".join(
        [
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
            *(f"-c {key}={value}" for key, value in (settings or {}).items()),
        ]
    )
    _run(
        [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
        work,
        log,
    )
    try:
        _run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, dbname], work, log)
    except PostgresUnavailable:
        stop(work)
        raise
    return LocalPostgres(port=port, user=user, dbname=dbname, work=work)


def stop(work: Path) -> None:
    """Fast shutdown of the cluster under ``work`` (nothing to do when it is not running)."""
    binaries = bindir()
    if binaries is None or not (work / "data" / "postmaster.pid").exists():
        return
    subprocess.run(
        [*_as_postgres(), str(binaries / "pg_ctl"), "-D", str(work / "data"), "-m", "fast", "-w", "stop"],
        capture_output=True,
        timeout=60,
        cwd=work,
    )


@contextmanager
def local_postgres(prefix: str = "cio-pg-", **kwargs: Any) -> Iterator[LocalPostgres]:
    """A server in a fresh temp folder for the block; stopped and its folder removed at the end."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        server = start(work, **kwargs)
        try:
            yield server
        finally:
            stop(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``start --dir D [--user U] [--db DB] [--port P] [--set key=value ...]`` prints the port; ``stop --dir D``."""
    parser = argparse.ArgumentParser(prog="python -m cio_devkit.devstack.postgres", description=__doc__)
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--user", default="cio")
    parser.add_argument("--db", default="warehouse")
    parser.add_argument("--port", type=int)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if args.action == "stop":
        stop(args.dir)
        return 0
    settings = dict(item.split("=", 1) for item in args.set)
    try:
        server = start(args.dir, user=args.user, dbname=args.db, port=args.port, settings=settings)
    except PostgresUnavailable as exc:
        print(f"postgres: {exc}", file=sys.stderr)
        return 1
    print(server.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
