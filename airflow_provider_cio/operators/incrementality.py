"""``CioIncrementalityOperator``: the holdout lift report of one program over the run's window."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_cio.hooks.blob import DEFAULT_BLOB_CONN_ID
from airflow_provider_cio.links.operator_links import LiftReportLink

if TYPE_CHECKING:
    from airflow.sdk import Context


class CioIncrementalityOperator(BaseOperator):
    """Compares treatment and holdout conversion and revenue per user over the ``window_days`` that ended with the
    last whole day the run covers (``operators._partition``): absolute and relative lift, 95% CI, two-proportion z-test, Welch
    test on revenue; writes ``reports/{env}/{workspace}/incrementality/{program}/dt=.../`` (PNG, HTML, JSON).

    ``warehouse`` is the audience build's argument (``WarehouseConfig.operator_kwargs(env)["warehouse"]``): its
    ``orders`` is a Blob prefix of Parquet, or ``{table, conn_id, dialect, ...}`` read through any Airflow SQL
    connection (only the window's rows, streamed), checked and failing as the audiences' read does."""

    template_fields: Sequence[str] = ("env", "workspace", "container", "program")
    operator_extra_links = (LiftReportLink(),)

    def __init__(
        self,
        *,
        program: str,
        audiences: Sequence[str],
        workspace: str,
        env: str = "dev",
        container: str = "customerio",
        wasb_conn_id: str = DEFAULT_BLOB_CONN_ID,
        warehouse: Mapping[str, str | Mapping[str, Any]] | None = None,
        window_days: int = 7,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.program = program
        self.audiences = list(audiences)
        self.workspace = workspace
        self.env = env
        self.container = container
        self.wasb_conn_id = wasb_conn_id
        self.warehouse = dict(warehouse or {"orders": f"warehouse/{env}/orders"})
        self.window_days = window_days

    def execute(self, context: Context) -> dict[str, Any]:
        import tempfile
        from pathlib import Path

        from airflow_provider_cio.audiences.incrementality_run import run_incrementality
        from airflow_provider_cio.hooks.blob import object_store
        from airflow_provider_cio.hooks.warehouse import warehouse_sources
        from airflow_provider_cio.operators._failfast import fail_fast
        from airflow_provider_cio.operators._partition import interval

        # the window_days that ended with the last whole day the run covers (the weekly run of Sunday 00:00: the
        # week up to Saturday), by the rule every operator shares
        _, end = interval(context)
        start = end - timedelta(days=self.window_days)
        store = object_store(self.wasb_conn_id, self.container)
        with fail_fast(), tempfile.TemporaryDirectory(prefix="cio-lift-") as tmp:
            tables = warehouse_sources(
                {"orders": self.warehouse["orders"]} if "orders" in self.warehouse else {}
            )
            summary = run_incrementality(
                store,
                env=self.env,
                workspace=self.workspace,
                program=self.program,
                audiences=self.audiences,
                window=(start, end),
                warehouse=tables,
                work_dir=Path(tmp),
            )
        from airflow_provider_cio.links.pointers import LIFT_REPORT, push_reports

        report = str(summary["report"])
        if report.startswith(store.url("")):
            push_reports(
                context, self.wasb_conn_id, self.container, {LIFT_REPORT: report.removeprefix(store.url(""))}
            )
        self.log.info(
            "%s: conversion lift %.4f (p=%.3f) over %s treatment / %s holdout users; report %s",
            self.program,
            summary["conversion_lift"],
            summary["conversion_p_value"],
            summary["treatment_users"],
            summary["holdout_users"],
            summary["report"],
        )
        return summary
