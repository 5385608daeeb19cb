"""Airflow's providers manager sees the package, its hooks and the three connection forms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CONNECTION_TYPES = {"customerio", "meta_custom_audience", "google_customer_match"}


def _airflow_json(tmp_path: Path, *args: str) -> Any:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    airflow = str(Path(sys.executable).with_name("airflow"))
    out = subprocess.run(
        [airflow, *args, "-o", "json"], env=env, capture_output=True, text=True, check=True
    ).stdout
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(("[{", "[]", "{")))
    return json.loads("\n".join(lines[first:]))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("providers-home")


def test_providers_list_shows_the_package(home: Path) -> None:
    providers = {p["package_name"]: p for p in _airflow_json(home, "providers", "list")}
    assert "airflow-provider-cio" in providers


def test_connection_types_resolve_to_importable_hooks(home: Path) -> None:
    hooks = {h["connection_type"]: h for h in _airflow_json(home, "providers", "hooks")}
    for conn_type in CONNECTION_TYPES:
        assert hooks[conn_type]["package_name"] == "airflow-provider-cio", hooks[conn_type]
        assert hooks[conn_type]["class"].startswith("airflow_provider_cio.hooks.")


def test_connection_forms_mark_secrets_as_passwords() -> None:
    from airflow_provider_cio.get_provider_info import get_provider_info

    forms = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    assert set(forms) == CONNECTION_TYPES
    secrets = {
        "customerio": {"track_api_key"},
        "meta_custom_audience": {"app_secret"},
        "google_customer_match": {"credentials_json"},
    }
    for conn_type, fields in secrets.items():
        for name in fields:
            assert forms[conn_type]["conn-fields"][name]["schema"]["format"] == "password", (conn_type, name)
    assert forms["customerio"]["conn-fields"]["region"]["schema"]["enum"] == ["us", "eu"]
    assert forms["google_customer_match"]["conn-fields"]["api"]["schema"]["enum"] == [
        "data_manager",
        "google_ads",
    ]
