"""Create the Customer.io App API pool a DAG config names: ``python -m cio_devkit.app_api_pool [CONFIG]``.

Every App API task of the reference DAGs runs in that one-slot pool (``export.pool``), and the scheduler never queues
a task whose pool does not exist. Deployments run this once after ``airflow db migrate`` (docker's ``airflow-init``
does); ``Standalone`` does the same for ``make ui`` and the scheduler tests. ``airflow pools set`` is idempotent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from airflow_provider_cio.dag_config import CUSTOMERIO_POOL_DESCRIPTION, CioDagConfig, read_dag_config
from cio_devkit.airflow_env import airflow_cli


def pool_set_args(cfg: CioDagConfig) -> list[str] | None:
    """The ``airflow`` CLI arguments that create the config's App API pool with one slot, or None without one."""
    if not cfg.customerio_pool:
        return None
    return ["pools", "set", cfg.customerio_pool, "1", CUSTOMERIO_POOL_DESCRIPTION]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    config = Path(args[0] if args else os.environ.get("CIO_DAG_CONFIG") or "dags/config/cio.yaml")
    pool = pool_set_args(read_dag_config(config))
    if pool is None:
        print(f"{config}: no export.pool; the App API tasks run in default_pool")
        return 0
    return airflow_cli(dict(os.environ), *pool, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
