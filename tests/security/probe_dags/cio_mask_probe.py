"""A probe DAG for the masking test: it deliberately logs and prints every connection secret; Airflow's secrets
masker must show each one as ``***``."""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import DAG, BaseHook, task

CONNECTIONS = ("cio_api", "cio_meta", "cio_google_ads", "cio_blob")

with DAG("cio_mask_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):

    @task
    def leak_on_purpose() -> None:
        log = logging.getLogger("cio.mask_probe")
        for conn_id in CONNECTIONS:
            conn = BaseHook.get_connection(conn_id)
            log.info("probe %s password=%s", conn_id, conn.password)
            for key, value in conn.extra_dejson.items():
                log.info("probe %s extra %s=%s", conn_id, key, value)
            print(f"probe-print {conn_id} password={conn.password}")

    leak_on_purpose()
