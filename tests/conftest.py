"""Test session set-up: a private Airflow home, no examples, and the devstack started once when a test needs it."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="cio-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parents[1] / "dags"))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("NO_PROXY", "*")

from cio_devkit.devstack import Devstack  # noqa: E402
from cio_devkit.devstack.stack import Service, default_services  # noqa: E402


def _services(names: set[str] | None) -> list[Service]:
    return [s for s in default_services() if names is None or s.name in names]


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devstack]:
    """The same devstack code users run, in a private state folder; connections exported as AIRFLOW_CONN_*."""
    stack = Devstack(tmp_path_factory.mktemp("devstack"), _services(None))
    stack.up()
    env = stack.environment()
    os.environ.update(env)
    try:
        yield stack
    finally:
        stack.down()
        for key in env:
            os.environ.pop(key, None)


@pytest.fixture
def blob_store(devstack: Devstack):  # type: ignore[no-untyped-def]
    """An ``AzureObjectStore`` on a fresh container in the devstack's Azurite, via WasbHook."""
    from airflow_provider_cio.hooks.blob import object_store

    return object_store("cio_blob", f"t{uuid.uuid4().hex[:16]}")
