"""Real engines for the warehouse tests: a throwaway PostgreSQL from Debian's packages and a local SparkSession.

PostgreSQL is the dev kit's (``cio_devkit.devstack.postgres``, also used by the benchmarks and
``make test-distributed``): Debian's ``postgresql`` package installed with apt-get when it is missing (as root), the
server run as the ``postgres`` user when we are root (it refuses root), on a free loopback port in a temp folder,
fsync off, stopped at the end of the session. If it cannot start, the test fails with the reason; nothing is
skipped silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from cio_devkit.devstack.postgres import LocalPostgres, PostgresUnavailable, local_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """The dev kit's throwaway PostgreSQL (``devstack/postgres.py``), for the whole session."""
    try:
        with local_postgres(prefix="cio-warehouse-pg-") as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


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
