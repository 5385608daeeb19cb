"""The smallest proof that a worker can write to the landing container."""

from __future__ import annotations

import json

from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID, object_store


def land_smoke_object(
    *,
    partition_date: str,
    run_id: str,
    wasb_conn_id: str = DEFAULT_BLOB_CONN_ID,
    container: str = "customerio",
) -> str:
    """Write ``smoke/dt=<date>/hello.json`` and read it back; return its location."""
    store = object_store(wasb_conn_id, container)
    path = f"smoke/dt={partition_date}/hello.json"
    body = json.dumps({"run_id": run_id, "partition": partition_date}).encode()
    store.write_bytes(path, body)
    if store.read_bytes(path) != body:
        raise RuntimeError(f"read-back of {path} differs from what was written")
    return store.url(path)
