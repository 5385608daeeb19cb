"""Smoke check of the stack: land one small JSON object in Blob through WasbHook.

Run it after changing connections: a green run proves the scheduler can reach the landing container.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="cio_smoke",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    tags=["customerio", "smoke"],
    default_args={"owner": "retention-data", "retries": 0},
    doc_md=__doc__,
)
def cio_smoke() -> None:
    @task
    def land_smoke_blob(ds: str | None = None, run_id: str | None = None) -> str:
        from airflow_provider_cio.smoke import land_smoke_object

        return land_smoke_object(partition_date=str(ds), run_id=str(run_id))

    land_smoke_blob()


cio_smoke()
