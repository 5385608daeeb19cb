"""List a day's reports with links that open in a browser: read-only SAS URLs valid for ``--minutes`` (signed with
the Blob connection's account key or Entra ID identity), or ``--local DIR``: copies on this machine as file:// URLs.

    python -m airflow_provider_cio.reports --date 2026-11-01              # Airflow's cio_blob connection
    python -m airflow_provider_cio.reports --date 2026-11-01 --devstack   # the running devstack's Azurite

The links are secrets for their lifetime (anyone holding one reads that report): they are printed here, for you,
and never logged by tasks; in the Airflow UI the task's report buttons mint a fresh one on each click.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from airflow_provider_cio.links.sas import DEFAULT_MINUTES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_cio.reports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--date", required=True, help="the day the run covered (YYYY-MM-DD)")
    parser.add_argument("--hour", type=int, default=None, help="that hour's partitions (the hourly cart DAG)")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="DAG config (default: CIO_DAG_CONFIG, else the devstack or reference one)",
    )
    parser.add_argument(
        "--conn-id", default=None, help="the wasb connection (default: the config's blob one)"
    )
    parser.add_argument("--devstack", action="store_true", help="use the running devstack's Azurite")
    parser.add_argument(
        "--minutes", type=float, default=DEFAULT_MINUTES, help="how long each link stays valid"
    )
    parser.add_argument(
        "--local", type=Path, default=None, help="copy the reports into DIR; print file:// URLs"
    )
    args = parser.parse_args(argv)
    cfg = _config(args.config, args.devstack)
    try:
        service = (
            _devstack_service() if args.devstack else _wasb_service(args.conn_id or cfg.connections["blob"])
        )
    except Exception as exc:  # no such connection, devstack not running: say which, with no secret
        print(f"reports: cannot reach Blob storage ({type(exc).__name__}: {str(exc)[:300]})", file=sys.stderr)
        return 2
    from airflow_provider_cio.reports.listing import day_reports
    from airflow_provider_cio.storage.azure import AzureObjectStore

    store = AzureObjectStore(service.get_container_client(cfg.container), create_container=False)
    found = day_reports(store, cfg, args.date, args.hour)
    if not found:
        print(f"no reports for {args.date} in container {cfg.container} (has the run for that day finished?)")
        return 1
    for report in found:
        print(f"{report.kind:<17} {report.subject:<32} {_open(service, cfg.container, report.path, args)}")
    if args.local is None:
        print(f"(links valid {args.minutes:g} minutes; run again for fresh ones)")
    return 0


def _open(service: Any, container: str, path: str, args: argparse.Namespace) -> str:
    if args.local is not None:
        target = (args.local / container / path).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(service.get_blob_client(container, path).download_blob().readall())
        return target.as_uri()
    from airflow_provider_cio.links.sas import read_only_url

    return read_only_url(service, container, path, minutes=args.minutes)


def _config(path: Path | None, devstack: bool) -> Any:
    """``--config``, else ``CIO_DAG_CONFIG``, else the devstack's config (``--devstack``) or ``cio.yaml``."""
    from airflow_provider_cio.dag_config import load_dag_config, read_dag_config
    from cio_devkit.devstack.stack import project_root

    if path is not None:
        return read_dag_config(path)
    return load_dag_config(project_root() / "dags" / "config" / ("devstack.yaml" if devstack else "cio.yaml"))


def _wasb_service(conn_id: str) -> Any:
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    return WasbHook(wasb_conn_id=conn_id).blob_service_client


def _devstack_service() -> Any:
    from azure.storage.blob import BlobServiceClient

    from cio_devkit.devstack import Devstack
    from cio_devkit.devstack.stack import blob_connection_string

    stack = Devstack.default()
    port = (stack.read_state().get("services", {}).get("azurite") or {}).get("port")
    if not port or not stack.status().get("azurite", {}).get("running"):
        raise RuntimeError("the devstack's Azurite is not running (python -m cio_devkit.devstack up)")
    return BlobServiceClient.from_connection_string(blob_connection_string(int(port)))


if __name__ == "__main__":
    raise SystemExit(main())
