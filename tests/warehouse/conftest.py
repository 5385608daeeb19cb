"""Real engines for the warehouse tests: a throwaway PostgreSQL from Debian's packages and a local SparkSession.

PostgreSQL is started the way ``scripts/test_distributed.sh`` does it: Debian's ``postgresql`` package installed
with apt-get when it is missing (as root), the server run as the ``postgres`` user when we are root (it refuses
root), on a free loopback port in a temp folder, fsync off, stopped at the end of the session. If it cannot start,
the test fails with the reason; nothing is skipped silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    dbname: str

    @property
    def uri(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname=self.dbname)


def _pg_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _install_postgres() -> Path:
    bindir = _pg_bindir()
    if bindir:
        return bindir
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("PostgreSQL is missing: install it (Debian/Ubuntu: sudo apt-get install -y postgresql)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode:
            pytest.fail(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail("apt-get installed postgresql but no initdb/pg_ctl was found under /usr/lib/postgresql")
    return bindir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bindir = _install_postgres()
    work = Path(tempfile.mkdtemp(prefix="cio-warehouse-pg-"))
    work.chmod(0o755)
    data, sock, log = work / "data", work / "sock", work / "postgres.log"
    data.mkdir()
    sock.mkdir()
    as_pg: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(data, "postgres")
        shutil.chown(sock, "postgres")
        log.touch()
        shutil.chown(log, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]

    def run(*cmd: str, timeout: float = 120) -> None:
        done = subprocess.run([*as_pg, *cmd], capture_output=True, text=True, timeout=timeout, cwd=work)
        if done.returncode:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            pytest.fail(
                f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-800:]} {tail}"
            )

    port = _free_port()
    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "cio",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-instructions",
    )
    options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "cio", "warehouse")
        yield Postgres("127.0.0.1", port, "cio", "warehouse")
    finally:
        subprocess.run(
            [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=60,
            cwd=work,
        )
        shutil.rmtree(work, ignore_errors=True)


def _ensure_java() -> None:
    """Spark 4 needs Java 17+: Debian's headless JRE is installed when java is missing (as root), else a failure."""
    if shutil.which("java"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(
            "java is missing: install a JRE 17+ (Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "openjdk-17-jre-headless"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode:
            pytest.fail(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local SparkSession on loopback (2 threads, 2 shuffle partitions, UTC, no UI): nothing leaves the machine."""
    import logging

    _ensure_java()

    from pyspark.sql import SparkSession

    logging.getLogger("py4j").setLevel(
        logging.WARNING
    )  # its INFO lines at interpreter exit hit closed streams
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cio-warehouse-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))  # not the cwd
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
