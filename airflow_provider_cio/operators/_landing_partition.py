"""``LandingPartitionOperator``: the base of operators that write or read one landing partition of a run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.operators._partition import partition_for

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_cio.landing.shrink import ShrinkPolicy


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

    def partition(self, context: Context) -> PartitionRef:
        """The partition of this run's data interval (rendered fields, so call it from ``execute``)."""
        return partition_for(
            context,
            root=self.root,
            env=self.env,
            workspace=self.workspace,
            dataset=self.dataset,
            hourly=self.hourly,
        )

    def shrink_policy(self, context: Context, *, allow_shrink: bool = False) -> ShrinkPolicy:
        """The rerun shrink guard of this dataset: the share of a committed partition's rows a rewrite may lose is
        the contract's ``rerun_max_shrink`` (``DEFAULT_RERUN_MAX_SHRINK`` without one); ``allow_shrink`` (the
        operator's argument, or ``"allow_shrink": true`` in the dag run's conf) lets a human replace it anyway."""
        from airflow_provider_cio.landing.shrink import DEFAULT_RERUN_MAX_SHRINK, ShrinkPolicy
        from airflow_provider_cio.quality.errors import ContractNotFound
        from airflow_provider_cio.quality.loader import load_contract

        try:
            contract = load_contract(self.dataset, search_paths=getattr(self, "contract_paths", ()))
            max_shrink = float(getattr(contract, "rerun_max_shrink", DEFAULT_RERUN_MAX_SHRINK))
        except ContractNotFound:
            max_shrink = DEFAULT_RERUN_MAX_SHRINK
        dag_run = context.get("dag_run")
        conf = (getattr(dag_run, "conf", None) or {}) if dag_run is not None else {}
        override = allow_shrink or conf.get("allow_shrink") is True
        if override:
            self.log.warning(
                "%s: allow_shrink is set: a rerun may replace the partition whatever it finds", self.dataset
            )
        return ShrinkPolicy(max_shrink=max_shrink, allow_shrink=override)
