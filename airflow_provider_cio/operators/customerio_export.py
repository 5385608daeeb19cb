"""``CustomerIoExportOperator``: land one dataset for the run's data interval from the App API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import conf

from airflow_provider_cio.errors import CioError, ErrorClass
from airflow_provider_cio.operators._landing_partition import LandingPartitionOperator
from airflow_provider_cio.operators._partition import interval

if TYPE_CHECKING:
    from airflow.sdk import Context


class CustomerIoExportError(CioError, RuntimeError):
    """An export ended failed or timed out on Customer.io's side."""

    error_class = ErrorClass.PLATFORM


class CustomerIoExportOperator(LandingPartitionOperator):
    """Exports (deliveries, people) or lists (metrics, events) one dataset into its landing partition.

    Export ids are pushed to XCom (key ``export_ids``) as soon as Customer.io accepts them, the wait is deferrable,
    and the partition is replaced atomically: a retry or a backfill of the same interval rewrites the same paths.
    Customer.io has no endpoint to cancel an export, so ``on_kill`` only records which exports were left running.
    A rerun that finds far fewer rows than the committed partition fails before replacing it (``PartitionShrink``,
    upstream data; the allowance is the contract's ``rerun_max_shrink``); ``allow_shrink=True``, or
    ``{"allow_shrink": true}`` as the dag run's conf, replaces it anyway.
    Returns a PII-free summary (rows, parts, rejected rows, manifest location). The partition's place (``dataset``,
    ``workspace``, ``env``, ``root``, ``container``, ``wasb_conn_id``, ``hourly``) is ``LandingPartitionOperator``'s.
    """

    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        customerio_conn_id: str = "customerio_default",
        campaign_ids: Sequence[int] | None = None,
        newsletter_ids: Sequence[int] | None = None,
        segment_id: int | None = None,
        max_rejected_rate: float = 0.01,
        poll_interval: float = 10.0,
        listing_page_limit: int = 100,
        export_timeout: float = 3 * 3600.0,
        settle_minutes: float = 0.0,
        allow_shrink: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.customerio_conn_id = customerio_conn_id
        self.campaign_ids = list(campaign_ids) if campaign_ids is not None else None
        self.newsletter_ids = list(newsletter_ids) if newsletter_ids is not None else None
        self.segment_id = segment_id
        self.max_rejected_rate = max_rejected_rate
        self.poll_interval = poll_interval
        self.listing_page_limit = listing_page_limit
        self.export_timeout = export_timeout
        self.settle_minutes = settle_minutes
        self.allow_shrink = allow_shrink
        self.deferrable = deferrable
        self._export_ids: list[int] = []

    def _client(self) -> Any:
        from airflow_provider_cio.hooks.customerio import CustomerIoHook

        return CustomerIoHook(self.customerio_conn_id).client

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_cio.operators._failfast import fail_fast
        from airflow_provider_cio.operators._settle import defer_until_settled

        defer_until_settled(self, context, hourly=self.hourly, settle_minutes=self.settle_minutes)
        with fail_fast():
            return self._export(context)

    def execute_settled(self, context: Context, event: Any = None) -> dict[str, Any]:
        """Resumed after the settle delay: export as ``execute`` does."""
        return self.execute(context)

    def _export(self, context: Context) -> dict[str, Any]:
        from airflow_provider_cio.landing.app_api import EXPORT_DATASETS, create_exports, wait_for_exports

        start, end = interval(context, hourly=self.hourly)
        if self.dataset not in EXPORT_DATASETS:
            return self._land(context, [])
        client = self._client()
        self._export_ids = create_exports(
            client,
            self.dataset,
            start,
            end,
            campaign_ids=self.campaign_ids,
            newsletter_ids=self.newsletter_ids,
            segment_id=self.segment_id,
        )
        context["ti"].xcom_push(key="export_ids", value=self._export_ids)
        self.log.info(
            "Customer.io accepted %d %s export(s): %s", len(self._export_ids), self.dataset, self._export_ids
        )
        if self.deferrable and self._export_ids:
            from datetime import timedelta

            from airflow_provider_cio.triggers.customerio_export import CustomerIoExportTrigger

            self.defer(
                trigger=CustomerIoExportTrigger(
                    customerio_conn_id=self.customerio_conn_id,
                    export_ids=self._export_ids,
                    poll_interval=self.poll_interval,
                    timeout=self.export_timeout,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.export_timeout + 600),
            )
        wait_for_exports(
            client, self._export_ids, poll_interval=self.poll_interval, timeout=self.export_timeout
        )
        return self._land(context, self._export_ids)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from airflow_provider_cio.customerio.export_status import ExportWait
        from airflow_provider_cio.operators._failfast import fail_fast

        if event.get("status") != ExportWait.DONE:
            raise CustomerIoExportError(
                f"{self.dataset} exports {event.get('export_ids')} did not finish: {event.get('message')}"
            )
        with fail_fast():
            return self._land(context, [int(i) for i in event["export_ids"]])

    def _land(self, context: Context, export_ids: list[int]) -> dict[str, Any]:
        from airflow_provider_cio.hooks.blob import object_store
        from airflow_provider_cio.landing.app_api import land_exports, land_listing

        store = object_store(self.wasb_conn_id, self.container)
        ref = self.partition(context)
        client = self._client()
        shrink = self.shrink_policy(context, allow_shrink=self.allow_shrink)
        if export_ids or self.dataset in ("deliveries", "people"):
            manifest = land_exports(
                client, store, ref, export_ids, max_rejected_rate=self.max_rejected_rate, shrink=shrink
            )
        else:
            start, end = interval(context, hourly=self.hourly)
            manifest = land_listing(
                client,
                store,
                ref,
                start,
                end,
                max_rejected_rate=self.max_rejected_rate,
                page_limit=self.listing_page_limit,
                shrink=shrink,
            )
        return {
            "dataset": manifest.dataset,
            "partition": manifest.partition,
            "rows": manifest.rows,
            "parts": len(manifest.parts),
            "rejected_rows": manifest.rejected_rows,
            "content_sha256": manifest.content_sha256,
            "manifest": store.url(ref.manifest_path),
            "source": manifest.source,
            "source_ids": manifest.source_ids,
        }

    def on_kill(self) -> None:
        if self._export_ids:
            self.log.warning(
                "killed while exports %s were running; Customer.io has no cancel endpoint, they expire on their own",
                self._export_ids,
            )
