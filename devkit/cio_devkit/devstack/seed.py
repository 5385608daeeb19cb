"""Seed the devstack's Blob with what a real workspace would already have: the warehouse ``orders`` table and the
native data-out files Customer.io writes, both from the same deterministic workspace the Customer.io emulator
serves (same seed, same people). Idempotent: existing objects are left alone."""

from __future__ import annotations

import io
from datetime import date
from typing import TYPE_CHECKING

from cio_devkit.devstack.emulator_services import WORKSPACE

if TYPE_CHECKING:
    from cio_devkit.devstack.stack import Devstack

CONTAINER = "customerio"
DATAOUT_CONTAINER = "customerio-dataout"
ORDERS_PATH = "warehouse/dev/orders/orders.parquet"


def seed_workspace(stack: Devstack) -> None:
    import pyarrow.parquet as pq
    from azure.storage.blob import BlobServiceClient

    from airflow_provider_cio.storage.azure import AzureObjectStore
    from cio_devkit.devstack.stack import blob_connection_string
    from cio_devkit.emulators.synthetic import generate_workspace, write_dataout_files

    port = stack.read_state()["services"]["azurite"]["port"]
    service = BlobServiceClient.from_connection_string(blob_connection_string(port))
    store = AzureObjectStore(service.get_container_client(CONTAINER))
    if store.exists(ORDERS_PATH):
        return
    workspace = generate_workspace(
        people=int(WORKSPACE["people"]),
        seed=int(WORKSPACE["seed"]),
        start=date.fromisoformat(str(WORKSPACE["start"])),
        days=int(WORKSPACE["days"]),
    )
    dataout = AzureObjectStore(service.get_container_client(DATAOUT_CONTAINER))
    write_dataout_files(workspace, dataout, "")
    buffer = io.BytesIO()
    pq.write_table(workspace.orders, buffer)
    store.write_bytes(ORDERS_PATH, buffer.getvalue())
