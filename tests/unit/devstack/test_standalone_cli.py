"""``Standalone.cli`` runs an ``airflow`` CLI call again only when SQLite refused it with "database is locked"."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cio_devkit.standalone import Standalone, StandaloneError


def fake_airflow(tmp_path: Path, *, locked_times: int, other_error: bool = False) -> tuple[Path, Path]:
    """An ``airflow`` stand-in whose first ``locked_times`` runs fail with SQLite's lock error (or another error),
    and later runs succeed; every run is appended to a log."""
    calls = tmp_path / "calls.log"
    script = tmp_path / "airflow"
    failure = (
        'echo "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked" >&2; exit 1'
        if not other_error
        else 'echo "Error: DAG cio_nope not found" >&2; exit 1'
    )
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{calls}"\n'
        f'n=$(wc -l < "{calls}")\n'
        f'if [ "$n" -le {locked_times} ]; then {failure}; fi\n'
        'echo "created"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, calls


def standalone(tmp_path: Path, script: Path) -> Standalone:
    airflow = Standalone(tmp_path / "home", {}, dag_config=tmp_path / "unused.yaml", port=1)
    airflow.airflow_bin = str(script)
    airflow.locked_retry_delay = 0.0
    return airflow


def test_a_locked_database_is_retried_until_the_call_succeeds(tmp_path: Path) -> None:
    script, calls = fake_airflow(tmp_path, locked_times=2)
    result = standalone(tmp_path, script).cli("backfill", "create", "--dag-id", "cio_export")
    assert result.returncode == 0 and "created" in result.stdout
    assert calls.read_text().splitlines() == ["backfill create --dag-id cio_export"] * 3


def test_a_lock_that_outlasts_the_attempts_is_reported(tmp_path: Path) -> None:
    script, calls = fake_airflow(tmp_path, locked_times=10)
    with pytest.raises(StandaloneError, match="database is locked"):
        standalone(tmp_path, script).cli("pools", "list", attempts=3)
    assert len(calls.read_text().splitlines()) == 3


def test_any_other_failure_is_not_retried(tmp_path: Path) -> None:
    script, calls = fake_airflow(tmp_path, locked_times=2, other_error=True)
    airflow = standalone(tmp_path, script)
    assert airflow.cli("dags", "unpause", "cio_nope", check=False).returncode == 1
    with pytest.raises(StandaloneError, match="not found"):
        airflow.cli("dags", "unpause", "cio_nope")
    assert len(calls.read_text().splitlines()) == 2  # each call ran once: a retry would have succeeded
