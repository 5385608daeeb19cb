"""A sync worker process for the kill-and-retry chaos test: ``run_sync`` to a Meta Graph emulator, ledger in Azurite.

Config (one JSON argument): ``connection_string``, ``container``, ``graph_url``, ``token``, ``secret``,
``account``, ``audience``, ``first``, ``last`` (member ids), ``batch``, ``report`` (where to write the report),
optionally ``hold_after`` (after that many batches are in the ledger, write ``held`` and wait to be killed) or
``hold_in_flight`` (the same, but once the platform has acknowledged that many batches and before the ledger
records the last of them: the window where a lost worker leaves a batch sent but unrecorded).
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any


def main() -> int:
    from azure.storage.blob import BlobServiceClient
    from chaos_support import members

    from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
    from airflow_provider_cio.storage.azure import AzureObjectStore
    from airflow_provider_cio.sync import Guardrails, RetryPolicy, SyncRequest, SyncRuntime, run_sync

    config = json.loads(sys.argv[1])
    service = BlobServiceClient.from_connection_string(config["connection_string"])
    store = AzureObjectStore(service.get_container_client(config["container"]))
    destination = MetaCustomAudienceDestination(
        config["account"],
        config["token"],
        config["secret"],
        graph_url=config["graph_url"],
        max_batch_size=int(config["batch"]),
    )
    hold_after = config.get("hold_after")
    hold_in_flight = config.get("hold_in_flight")
    acked = 0
    sent = 0

    def hold(where: str) -> None:
        Path(config["held"]).write_text(where)
        threading.Event().wait()  # a worker stuck here until the kill

    if hold_in_flight is not None:
        send = destination.send_batch

        def send_then_hold(*args: Any, **kwargs: Any) -> Any:
            nonlocal sent
            result = send(*args, **kwargs)
            sent += 1
            if sent == int(hold_in_flight):
                hold(f"acknowledged batch {kwargs.get('seq')}, not yet in the ledger")
            return result

        destination.send_batch = send_then_hold  # type: ignore[method-assign]

    def after_batch(operation: str, seq: int, total: int) -> None:
        nonlocal acked
        acked += 1
        if hold_after is not None and acked == int(hold_after):
            hold(f"{operation} {seq}/{total} in the ledger")

    report = run_sync(
        destination,
        store,
        SyncRequest(
            audience_name=config["audience"],
            members=members(range(int(config["first"]), int(config["last"]))),
            mode=config.get("mode", "mirror"),
            guards=Guardrails(min_size=10, max_shrink=1.0),
            quality_passed=True,
        ),
        runtime=SyncRuntime(
            retry=RetryPolicy(max_attempts=3, base_delay=0.05),
            after_batch=after_batch,
        ),
    )
    Path(config["report"]).write_text(json.dumps(report.to_dict()))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
