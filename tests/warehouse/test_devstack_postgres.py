"""The dev kit's throwaway PostgreSQL as ``make test-distributed`` drives it: ``start`` on a given folder and port
with extra settings prints the port of a server that answers; ``stop`` shuts it down (and is harmless twice)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from cio_devkit.devstack.postgres import PostgresUnavailable, free_port, main, start


def test_start_and_stop_from_the_command_line() -> None:
    work = Path(tempfile.mkdtemp(prefix="cio-test-pg-")) / "pg"
    work.parent.chmod(0o755)  # as the script's mktemp -d folder
    port = free_port()
    printed = io.StringIO()
    argv = ["start", "--dir", str(work), "--user", "airflow", "--db", "airflow", "--port", str(port)]
    try:
        with contextlib.redirect_stdout(printed):
            assert main([*argv, "--set", "max_connections=37"]) == 0
        assert printed.getvalue().strip() == str(port)
        with psycopg.connect(host="127.0.0.1", port=port, user="airflow", dbname="airflow") as con:
            assert con.execute("SHOW max_connections").fetchone() == ("37",)
            assert con.execute("SHOW fsync").fetchone() == ("off",)
            assert con.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert main(["stop", "--dir", str(work)]) == 0
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host="127.0.0.1", port=port, user="airflow", dbname="airflow", connect_timeout=3)
        assert main(["stop", "--dir", str(work)]) == 0
    finally:
        main(["stop", "--dir", str(work)])
        shutil.rmtree(work.parent, ignore_errors=True)


def test_a_folder_the_postgres_user_cannot_reach_is_refused_naming_it(tmp_path: Path) -> None:
    """As root the server runs as ``postgres``: pytest's own temp folders (mode 700) are out of its reach."""
    if os.geteuid() != 0:
        return  # not root: the server runs as us and reaches any folder we can
    tmp_path.parent.chmod(0o700)
    with pytest.raises(PostgresUnavailable, match="not searchable by others"):
        start(tmp_path / "pg")
    assert not (tmp_path / "pg" / "data" / "PG_VERSION").exists()
