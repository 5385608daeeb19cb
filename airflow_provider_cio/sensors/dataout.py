"""``CioDataOutSensor``: wait until Customer.io has written data-out files we have not processed yet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Context


class CioDataOutSensor(BaseSensorOperator):
    """Pokes the source container; true when at least ``min_files`` unprocessed data-out files are there.

    Use ``mode="reschedule"`` (the default here) so a long wait does not hold a worker slot.
    """

    template_fields: Sequence[str] = (
        "env",
        "workspace",
        "root",
        "container",
        "source_container",
        "source_prefix",
    )

    def __init__(
        self,
        *,
        workspace: str,
        env: str = "dev",
        root: str = "landing",
        container: str = "customerio",
        wasb_conn_id: str = DEFAULT_BLOB_CONN_ID,
        source_container: str = "customerio-dataout",
        source_prefix: str = "",
        source_wasb_conn_id: str | None = None,
        min_files: int = 1,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.workspace = workspace
        self.env = env
        self.root = root
        self.container = container
        self.wasb_conn_id = wasb_conn_id
        self.source_container = source_container
        self.source_prefix = source_prefix
        self.source_wasb_conn_id = source_wasb_conn_id or wasb_conn_id
        self.min_files = min_files

    def poke(self, context: Context) -> bool:
        from airflow_provider_cio.hooks.blob import object_store
        from airflow_provider_cio.landing.dataout import find_new_files, load_watermark
        from airflow_provider_cio.landing.dataout_settings import DataOutSettings

        mark = load_watermark(
            object_store(self.wasb_conn_id, self.container), self.root, self.env, self.workspace
        )
        new = find_new_files(
            object_store(self.source_wasb_conn_id, self.source_container),
            self.source_prefix,
            DataOutSettings(),
            mark,
        )
        self.log.info("%d unprocessed data-out file(s)", len(new))
        return len(new) >= self.min_files
