"""``LandingPartitionOperator``: the base of operators that write or read one landing partition of a run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.operators._partition import partition_for


class LandingPartitionOperator(BaseOperator):
    """Holds where the partition is: ``{root}/{env}/{workspace}/{dataset}`` in ``container`` on ``wasb_conn_id``,
    by day or by hour (``hourly``). A subclass's ``__init__`` takes its own arguments and passes these on.

    A base operator (not a mixin) so that Airflow applies ``default_args`` to these arguments and checks the
    required ones, as it does for arguments of the subclass's own ``__init__``.
    """

    template_fields: Sequence[str] = ("dataset", "env", "workspace", "root", "container")

    def __init__(
        self,
        *,
        dataset: str,
        workspace: str,
        env: str = "dev",
        root: str = "landing",
        container: str = "customerio",
        wasb_conn_id: str = DEFAULT_BLOB_CONN_ID,
        hourly: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset
        self.workspace = workspace
        self.env = env
        self.root = root
        self.container = container
        self.wasb_conn_id = wasb_conn_id
        self.hourly = hourly

    def partition(self, context: Any) -> PartitionRef:
        """The partition of this run's data interval (rendered fields, so call it from ``execute``)."""
        return partition_for(
            context,
            root=self.root,
            env=self.env,
            workspace=self.workspace,
            dataset=self.dataset,
            hourly=self.hourly,
        )
