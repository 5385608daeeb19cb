"""``python -m cio_devkit.app_api_pool``: the one-slot pool a DAG config names, created with the airflow CLI."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from airflow_provider_cio.dag_config import read_dag_config
from cio_devkit import app_api_pool

CONFIG = Path(__file__).resolve().parents[3] / "dags" / "config" / "cio.yaml"


def config_with_pool(tmp_path: Path, pool: str | None) -> Path:
    raw = yaml.safe_load(CONFIG.read_text())
    raw["export"]["pool"] = pool
    path = tmp_path / "cio.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_shipped_config_asks_for_a_one_slot_pool() -> None:
    args = app_api_pool.pool_set_args(read_dag_config(CONFIG))
    assert args is not None and args[:4] == ["pools", "set", "customerio_api", "1"]


def test_main_runs_airflow_pools_set_and_returns_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "calls.log"
    fake = tmp_path / "bin" / "airflow"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexit 3\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(app_api_pool.sys, "executable", str(fake.parent / "python"))

    assert app_api_pool.main([str(config_with_pool(tmp_path, "cio_pool"))]) == 3
    assert calls.read_text().startswith("pools set cio_pool 1 Customer.io App API")
    calls.unlink()
    assert app_api_pool.main([str(config_with_pool(tmp_path, None))]) == 0
    assert not calls.exists()
