"""Wait for Customer.io exports without holding a worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_cio.customerio.export_status import ExportStatus, ExportWait, export_status


class CustomerIoExportTrigger(BaseTrigger):
    """Polls ``GET /v1/exports/{id}`` for every export until all are done, one failed, or the timeout passes."""

    def __init__(
        self,
        *,
        customerio_conn_id: str,
        export_ids: list[int],
        poll_interval: float = 10.0,
        timeout: float = 3600.0,
    ) -> None:
        super().__init__()
        self.customerio_conn_id = customerio_conn_id
        self.export_ids = [int(i) for i in export_ids]
        self.poll_interval = poll_interval
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "customerio_conn_id": self.customerio_conn_id,
                "export_ids": self.export_ids,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
            },
        )

    async def _client(self) -> Any:
        from airflow.sdk import BaseHook

        from airflow_provider_cio.hooks.customerio import client_from_connection

        conn = await BaseHook.aget_connection(self.customerio_conn_id)
        return client_from_connection(self.customerio_conn_id, conn)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            client = await self._client()
            deadline = time.monotonic() + self.timeout
            pending = set(self.export_ids)
            while pending:
                for export_id in sorted(pending):
                    export = await asyncio.to_thread(client.get_export, export_id)
                    status = export_status(export)
                    if status is ExportStatus.DONE:
                        pending.discard(export_id)
                    elif status is ExportStatus.FAILED:
                        yield TriggerEvent(
                            {
                                "status": ExportWait.FAILED.value,
                                "export_ids": self.export_ids,
                                "message": f"export {export_id} failed",
                            }
                        )
                        return
                if pending and time.monotonic() + self.poll_interval > deadline:
                    yield TriggerEvent(
                        {
                            "status": ExportWait.TIMEOUT.value,
                            "export_ids": self.export_ids,
                            "message": f"exports {sorted(pending)} not done within {self.timeout:.0f}s",
                        }
                    )
                    return
                if pending:
                    await asyncio.sleep(self.poll_interval)
        except Exception as exc:  # one final event, never a crashed trigger
            yield TriggerEvent(
                {"status": ExportWait.ERROR.value, "export_ids": self.export_ids, "message": str(exc)}
            )
            return
        yield TriggerEvent({"status": ExportWait.DONE.value, "export_ids": self.export_ids})
