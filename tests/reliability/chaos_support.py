"""Helpers shared by the chaos tests: stores on the devstack's Azurite, a sync worker subprocess, deterministic
pre-hashed members (the values are synthetic: they exist only to be counted)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_provider_cio.storage.azure import AzureObjectStore
from airflow_provider_cio.sync import Member
from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import blob_connection_string

WORKER = Path(__file__).with_name("sync_worker.py")
FULL = os.environ.get("CIO_CHAOS", "").lower() == "full"  # make chaos: bigger data, more rounds
META_TOKEN = "chaos-meta-token-5e1d"
META_SECRET = "chaos-meta-secret-77a0"
META_ACCOUNT = "act_5150"


def azurite_port(stack: Devstack) -> int:
    return int(stack.read_state()["services"]["azurite"]["port"])


def azurite_store(stack: Devstack, container: str, *, retries: int | None = None) -> AzureObjectStore:
    """A store on ``container`` through the port the stack records now (``retries=0``: fail fast while down)."""
    from azure.storage.blob import BlobServiceClient

    kwargs: dict[str, Any] = {}
    if retries is not None:
        kwargs = {"retry_total": retries, "connection_timeout": 2}
    service = BlobServiceClient.from_connection_string(blob_connection_string(azurite_port(stack)), **kwargs)
    return AzureObjectStore(service.get_container_client(container))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def members(ids: range) -> list[Member]:
    return [
        Member(f"cust-{i:06d}", {"email": (sha(f"chaos{i}@example.com"),), "phone": (sha(f"1555{i:07d}"),)})
        for i in ids
    ]


def start_worker(config: dict[str, Any], log_path: Path) -> subprocess.Popen[bytes]:
    """A sync worker in its own process (SIGKILL-able like a real worker)."""
    log = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(config)], stdout=log, stderr=subprocess.STDOUT
    )


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``check`` (a state condition, not a duration) until true; fail the test naming ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
