"""``CioWebhookBatchSensor``: wait, deferred, for the webhook receiver's next micro-batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Context


class CioWebhookBatchSensor(BaseSensorOperator):
    """Defers to ``WebhookBatchTrigger`` until a ``webhook_events`` batch lands that its previous run did not
    report (the cursor travels in this task's XCom; ``timeout`` seconds without one: skipped), and returns the batch event (``interval_end``, generations,
    row count). A worker slot is held only for the check and the hand-over, never for the wait.
    """

    template_fields: Sequence[str] = ("env", "workspace", "root", "container")

    def __init__(
        self,
        *,
        workspace: str,
        env: str = "dev",
        root: str = "landing",
        container: str = "customerio",
        wasb_conn_id: str = DEFAULT_BLOB_CONN_ID,
        poll_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", 3600)
        super().__init__(**kwargs)
        self.workspace = workspace
        self.env = env
        self.root = root
        self.container = container
        self.wasb_conn_id = wasb_conn_id
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> None:
        from airflow_provider_cio.triggers.webhook_batches import WebhookBatchTrigger

        previous = context["ti"].xcom_pull(task_ids=self.task_id, include_prior_dates=True)
        seen = previous.get("seen") if isinstance(previous, dict) else None
        self.defer(
            trigger=WebhookBatchTrigger(
                wasb_conn_id=self.wasb_conn_id,
                container=self.container,
                root=self.root,
                env=self.env,
                workspace=self.workspace,
                poll_interval=self.poll_interval,
                seen=seen or {},
                once=True,
                timeout=float(self.timeout),
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") == "timeout":
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(f"no new webhook micro-batch within {float(self.timeout):.0f} s")
        self.log.info("new webhook micro-batch(es): %s (%d rows)", event.get("batches"), event.get("rows", 0))
        return event
