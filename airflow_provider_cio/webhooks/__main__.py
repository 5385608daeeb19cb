"""Serve the Customer.io webhook receiver with uvicorn.

``CIO_WEBHOOK_SIGNING_KEY=... CIO_WEBHOOK_BLOB_CONNECTION_STRING=... python -m airflow_provider_cio.webhooks
--port 8095 --container customerio --journal-dir /var/lib/cio-webhooks --workspace demo``. The signing key and the
connection string come from the environment (or ``CIO_WEBHOOK_SIGNING_KEY_FILE``, a mounted secret), never the
command line (it shows in ``ps``). ``--port 0`` takes a free port; ``--url-file`` receives the URL once listening.
One process: the journal is local to it. SIGTERM lands what is durable, then exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_cio.webhooks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--container", default=os.environ.get("CIO_WEBHOOK_CONTAINER", "customerio"))
    parser.add_argument("--journal-dir", type=Path)
    parser.add_argument("--landing-root")
    parser.add_argument("--env", dest="environment")
    parser.add_argument("--workspace")
    parser.add_argument("--flush-interval", type=float, help="seconds between micro-batches (default 60)")
    parser.add_argument("--url-file", type=Path, help="write the receiver's base URL here once it listens")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from airflow_provider_cio.webhooks.settings import ReceiverSettings, SettingsError

    try:
        settings = ReceiverSettings.from_env(
            journal_dir=args.journal_dir,
            landing_root=args.landing_root,
            env=args.environment,
            workspace=args.workspace,
            flush_interval=args.flush_interval,
        )
    except SettingsError as exc:
        parser.exit(2, f"configuration: {exc}\n")
    connection_string = os.environ.get("CIO_WEBHOOK_BLOB_CONNECTION_STRING")
    if not connection_string:
        parser.exit(
            2, "configuration: set CIO_WEBHOOK_BLOB_CONNECTION_STRING (the landing storage account)\n"
        )
    return serve(
        settings,
        _store(connection_string, args.container),
        host=args.host,
        port=args.port,
        url_file=args.url_file,
    )


def _store(connection_string: str, container: str):  # type: ignore[no-untyped-def]
    from azure.storage.blob import ContainerClient

    from airflow_provider_cio.storage.azure import AzureObjectStore

    return AzureObjectStore(ContainerClient.from_connection_string(connection_string, container))


def serve(settings, store, *, host: str, port: int, url_file: Path | None = None) -> int:  # type: ignore[no-untyped-def]
    """Bind first (so ``--port 0`` and the URL file work), then hand the socket to uvicorn."""
    import uvicorn

    from airflow_provider_cio.webhooks.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue from now on: the URL file never points at a refusing port
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, store), log_level="warning", access_log=False, timeout_graceful_shutdown=10
    )
    server = uvicorn.Server(config)
    if url_file is not None:
        tmp = url_file.with_suffix(".tmp")
        tmp.write_text(f"http://{host}:{bound}\n")
        os.replace(tmp, url_file)
    logging.getLogger(__name__).info(
        "Customer.io webhook receiver on http://%s:%d%s", host, bound, settings.path
    )
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
