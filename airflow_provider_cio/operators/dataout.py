"""``CioDataOutIngestOperator``: process new Customer.io data-out files into the landing layout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Context


class CioDataOutIngestOperator(BaseOperator):
    """Reads Customer.io's own data-out files (Journeys Parquet, Data Pipelines CSV/JSON/Parquet) from the source
    container, processes only files not processed before (watermark in Blob), and merges them into the landing
    partitions of their event dates. Returns a PII-free report (files, rows, partitions, quarantined files)."""

    template_fields: Sequence[str] = (
        "env",
        "workspace",
        "root",
        "container",
        "source_container",
        "source_prefix",
    )
    ui_color = "#d6eaf8"

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
        max_rejected_rate: float = 0.01,
        max_files_per_run: int = 500,
        settle_minutes: float = 0.0,
        ad_consent_when_unmapped: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace
        self.env = env
        self.root = root
        self.container = container
        self.wasb_conn_id = wasb_conn_id
        self.source_container = source_container
        self.source_prefix = source_prefix
        self.source_wasb_conn_id = source_wasb_conn_id or wasb_conn_id
        self.max_rejected_rate = max_rejected_rate
        self.max_files_per_run = max_files_per_run
        self.settle_minutes = settle_minutes
        self.ad_consent_when_unmapped = ad_consent_when_unmapped

    def execute_settled(self, context: Context, event: Any = None) -> dict[str, Any]:
        """Resumed after the settle delay: ingest as ``execute`` does."""
        return self.execute(context)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_cio.operators._settle import defer_until_settled

        # Customer.io writes the run's day in files that arrive after it ends: wait its settle delay first
        defer_until_settled(self, context, hourly=False, settle_minutes=self.settle_minutes)
        return self._ingest()

    def _ingest(self) -> dict[str, Any]:
        from airflow_provider_cio.hooks.blob import object_store
        from airflow_provider_cio.landing.dataout import ingest_dataout
        from airflow_provider_cio.landing.dataout_settings import DataOutSettings

        report = ingest_dataout(
            object_store(self.source_wasb_conn_id, self.source_container),
            self.source_prefix,
            object_store(self.wasb_conn_id, self.container),
            root=self.root,
            env=self.env,
            workspace=self.workspace,
            settings=DataOutSettings(
                max_files_per_run=self.max_files_per_run,
                ad_consent_when_unmapped=self.ad_consent_when_unmapped,
            ),
            max_rejected_rate=self.max_rejected_rate,
        )
        for name, reason in report.rejected_files.items():
            self.log.warning("quarantined %s: %s", name.rsplit("/", 1)[-1], reason)
        self.log.info(
            "data-out: files %s, rows %s, %d partitions", report.files, report.rows, len(report.partitions)
        )
        return report.to_summary()
