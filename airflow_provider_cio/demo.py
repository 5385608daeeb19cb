"""``make demo``: the main job on the embedded default stack, ending with a printed summary.

Starts the devstack (reusing a running one), prepares a private Airflow home under ``.devstack/airflow``, runs the
reference DAG with ``airflow dags test`` and prints what landed where.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from airflow_provider_cio.airflow_env import airflow_cli, airflow_env, migrate
from airflow_provider_cio.devstack import Devstack, DevstackError
from airflow_provider_cio.devstack.stack import project_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--date", default="2026-11-01", help="logical date of the run (YYYY-MM-DD)")
    args = parser.parse_args(argv)

    stack = Devstack.default()
    try:
        connections = stack.up()
    except DevstackError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    root = project_root()
    env = airflow_env(stack.state_dir / "airflow", root / "dags", stack.environment())
    print("== airflow db migrate")
    migrate(env)
    print(f"== airflow dags test cio_smoke {args.date}")
    result = airflow_cli(env, "dags", "test", "cio_smoke", args.date, check=False, capture=True)
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n", file=sys.stderr)
        print("demo: the smoke DAG failed (see above)", file=sys.stderr)
        return 1
    _summary(stack, connections, args.date)
    return 0


def _summary(stack: Devstack, connections: dict[str, dict[str, object]], date: str) -> None:
    from azure.storage.blob import BlobServiceClient

    from airflow_provider_cio.devstack.stack import blob_connection_string
    from airflow_provider_cio.storage.azure import AzureObjectStore

    port = stack.read_state()["services"]["azurite"]["port"]
    service = BlobServiceClient.from_connection_string(blob_connection_string(port))
    store = AzureObjectStore(service.get_container_client("customerio"), create_container=False)
    blobs = store.list(f"smoke/dt={date}/")
    print("\n== demo summary")
    services = ", ".join(f"{name} :{info.get('port')}" for name, info in stack.status().items())
    print(f"devstack      : {services}")
    print(f"landed blobs  : {len(blobs)}")
    for name in blobs:
        print(f"  {store.url(name)}")
    print(f"stop the stack: {Path(sys.executable).parent / 'python'} -m airflow_provider_cio.devstack down")


if __name__ == "__main__":
    raise SystemExit(main())
