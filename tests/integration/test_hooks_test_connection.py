"""Each hook's ``test_connection`` makes one real call to its (emulated) platform, and never echoes a secret."""

from __future__ import annotations

import json
import os
from importlib import import_module

import pytest

from cio_devkit.devstack import Devstack


def import_string(path: str):  # type: ignore[no-untyped-def]
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


@pytest.mark.parametrize(
    ("hook_path", "conn_id"),
    [
        ("airflow_provider_cio.hooks.customerio.CustomerIoHook", "cio_api"),
        ("airflow_provider_cio.hooks.meta.MetaCustomAudienceHook", "cio_meta"),
        ("airflow_provider_cio.hooks.google.GoogleCustomerMatchHook", "cio_google_dm"),
        ("airflow_provider_cio.hooks.google.GoogleCustomerMatchHook", "cio_google_ads"),
    ],
)
def test_test_connection_succeeds_against_the_devstack(
    devstack: Devstack, hook_path: str, conn_id: str
) -> None:
    ok, message = import_string(hook_path)(conn_id).test_connection()
    assert ok, message


@pytest.mark.parametrize(
    ("hook_path", "conn_id", "secret"),
    [
        ("airflow_provider_cio.hooks.customerio.CustomerIoHook", "cio_api", "wrong-app-api-key-123456"),
        ("airflow_provider_cio.hooks.meta.MetaCustomAudienceHook", "cio_meta", "EAAwrongtoken1234567890"),
    ],
)
def test_a_wrong_secret_fails_with_a_message_that_does_not_contain_it(
    devstack: Devstack, monkeypatch: pytest.MonkeyPatch, hook_path: str, conn_id: str, secret: str
) -> None:
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    conn = json.loads(os.environ[variable])
    conn["password"] = secret
    monkeypatch.setenv(variable, json.dumps(conn))
    ok, message = import_string(hook_path)(conn_id).test_connection()
    assert not ok
    assert message
    assert secret not in message
