"""Fire when the webhook receiver lands a new micro-batch: for an ``AssetWatcher`` (event-driven scheduling) and for
the deferrable sensor, the same poll of two small manifests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

STATE_KEY = "webhook_batches_seen"


class WebhookBatchTrigger(BaseEventTrigger):
    """Polls the ``webhook_events`` manifests of the current and previous hour every ``poll_interval`` seconds and
    yields one event per poll that finds a new generation (``webhooks/batches.py``: ``interval_end``, the batches,
    their row count; no row data).

    ``seen`` is the generations already handled (``label -> generation``); the sensor passes what its previous run
    handled. Watched by an ``AssetWatcher`` (``seen`` empty), the trigger keeps its cursor in the asset's state
    store, so a triggerer restart neither repeats nor loses a batch; with no cursor stored yet it starts from what
    is there (only batches after the watcher started fire). ``once``: return after the first event (a deferral);
    ``timeout``: after that many seconds without a batch, one ``{"status": "timeout"}`` event and return.
    """

    def __init__(
        self,
        *,
        wasb_conn_id: str,
        container: str,
        root: str,
        env: str,
        workspace: str,
        poll_interval: float = 5.0,
        seen: dict[str, str] | None = None,
        once: bool = False,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.wasb_conn_id = wasb_conn_id
        self.container = container
        self.root = root
        self.env = env
        self.workspace = workspace
        self.poll_interval = float(poll_interval)
        self.seen = dict(seen) if seen is not None else None
        self.once = once
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "wasb_conn_id": self.wasb_conn_id,
                "container": self.container,
                "root": self.root,
                "env": self.env,
                "workspace": self.workspace,
                "poll_interval": self.poll_interval,
                "seen": self.seen,
                "once": self.once,
                "timeout": self.timeout,
            },
        )

    def _marks(self, store: Any) -> dict[str, dict[str, Any]]:
        from airflow_provider_cio.webhooks.batches import batch_marks

        return batch_marks(
            store, root=self.root, env=self.env, workspace=self.workspace, now=datetime.now(UTC)
        )

    async def _stored_cursor(self) -> dict[str, str] | None:
        if self.asset_state_store is None:
            return None
        try:
            stored = await self.asset_state_store.aget(STATE_KEY)
        except Exception as exc:  # a state store that cannot answer: the cursor lives in memory only
            self.log.warning("asset state store unreadable (%s): cursor kept in memory", type(exc).__name__)
            return None
        return {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else None

    async def _store_cursor(self, seen: dict[str, str]) -> None:
        if self.asset_state_store is None:
            return
        try:
            await self.asset_state_store.aset(STATE_KEY, dict[str, Any](seen))
        except Exception as exc:
            self.log.warning("asset state store not written (%s): cursor kept in memory", type(exc).__name__)

    async def _store(self) -> Any:
        """The landing store, with the connection fetched the async way (a synchronous fetch from a worker thread
        of the triggerer hung here), the Azure SDK imported and the client built off the event loop."""
        from airflow.sdk import BaseHook

        connection = await BaseHook.aget_connection(self.wasb_conn_id)
        return await asyncio.to_thread(_store_from_connection, connection, self.container)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import time

        from airflow_provider_cio.webhooks.batches import batch_event, new_batches

        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        started = datetime.now(UTC) - timedelta(seconds=1)  # manifests carry whole seconds
        store = await self._store()
        seen = self.seen if self.seen is not None else await self._stored_cursor()
        if seen is None:  # first start of a watcher: what landed before it started is not news
            marks = await asyncio.to_thread(self._marks, store)
            seen = {
                label: mark["generation"]
                for label, mark in marks.items()
                if datetime.fromisoformat(mark["produced_at"]) < started
            }
            await self._store_cursor(seen)
        while True:
            try:
                marks = await asyncio.to_thread(self._marks, store)
            except Exception as exc:  # storage hiccup: keep watching, say so
                self.log.warning("webhook_events manifests unreadable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(self.poll_interval)
                continue
            fresh = new_batches(marks, seen)
            if fresh:
                seen = {label: mark["generation"] for label, mark in marks.items()}
                payload = {"status": "batch", **batch_event(fresh), "seen": seen}
                await self._store_cursor(seen)
                yield TriggerEvent(payload)
                if self.once:
                    return
            if deadline is not None and time.monotonic() + self.poll_interval > deadline:
                yield TriggerEvent({"status": "timeout", "seen": seen})
                return
            await asyncio.sleep(self.poll_interval)


def _store_from_connection(connection: Any, container: str) -> Any:
    """``WasbHook``'s credentials handling (every auth type it knows) on a connection already fetched."""
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    from airflow_provider_cio.storage.azure import AzureObjectStore

    hook = WasbHook(wasb_conn_id=connection.conn_id)
    hook.get_connection = lambda conn_id: connection  # type: ignore[method-assign, assignment]
    return AzureObjectStore(hook.blob_service_client.get_container_client(container))  # type: ignore[arg-type]
