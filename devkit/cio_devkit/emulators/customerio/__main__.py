"""Run the Customer.io emulator in the foreground.

``python -m cio_devkit.emulators.customerio --port 8091 --api-key K --people 2000 --seed 7
--start 2024-03-01 --days 30 [--url-file PATH]``; ``--pending-seconds``, ``--months``, ``--export-open-range``,
``--multi-key-filter`` and ``--unknown-fields`` pick the emulator's reading where the docs leave a case open
(``rules.Readings``). The API key defaults to ``CIO_EMULATOR_API_KEY`` so the devstack
can hand the same value to the Airflow connection. ``--webhook-url URL`` also posts the workspace's activity there as
signed Reporting Webhooks (``webhooks.py``). SIGTERM/SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

from cio_devkit.emulators.customerio.rules import Readings
from cio_devkit.emulators.customerio.server import CustomerIoEmulator
from cio_devkit.emulators.synthetic import generate_workspace

DEFAULT_API_KEY = "emulator-app-api-key"
DEFAULT_START = date(2024, 3, 1)


def start_for_devstack(port: int, state_dir: Path | None = None) -> Callable[[], None]:
    """Start with the environment's (or default) settings; return ``stop`` (a devstack ``Starter``)."""
    workspace = generate_workspace(
        people=int(os.environ.get("CIO_EMULATOR_PEOPLE", "2000")),
        seed=int(os.environ.get("CIO_EMULATOR_SEED", "7")),
        start=date.fromisoformat(os.environ.get("CIO_EMULATOR_START", DEFAULT_START.isoformat())),
        days=int(os.environ.get("CIO_EMULATOR_DAYS", "30")),
    )
    emulator = CustomerIoEmulator(
        workspace, os.environ.get("CIO_EMULATOR_API_KEY", DEFAULT_API_KEY), port=port
    ).start()
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "customerio.url").write_text(emulator.url + "\n")
    return emulator.stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Customer.io App API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--api-key", default=os.environ.get("CIO_EMULATOR_API_KEY", DEFAULT_API_KEY))
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--pending-polls", type=int, default=1)
    parser.add_argument("--pending-seconds", type=float, default=0.0, help="exports stay pending this long")
    parser.add_argument("--months", choices=["calendar", "30d"], default="calendar")
    parser.add_argument("--export-open-range", choices=["like_messages", "reject"], default="like_messages")
    parser.add_argument("--multi-key-filter", choices=["and", "reject"], default="and")
    parser.add_argument(
        "--unknown-fields", action="store_true", help="add a field no client knows to answers"
    )
    parser.add_argument("--gzip", action="store_true", help="serve export downloads gzip-compressed")
    parser.add_argument("--url-file", type=Path, help="write the emulator's base URL to this file")
    parser.add_argument(
        "--webhook-url",
        help="post the workspace's activity there as signed Reporting Webhooks (key: CIO_EMULATOR_WEBHOOK_SIGNING_KEY)",
    )
    parser.add_argument("--webhook-start", help="ISO time: only activity from then on (default: all)")
    parser.add_argument(
        "--webhook-in-flight", type=int, default=1, help="calls in flight at once (unconfirmed: 1)"
    )
    args = parser.parse_args(argv)

    workspace = generate_workspace(people=args.people, seed=args.seed, start=args.start, days=args.days)
    emulator = CustomerIoEmulator(
        workspace,
        args.api_key,
        host=args.host,
        port=args.port,
        pending_polls=args.pending_polls,
        pending_seconds=args.pending_seconds,
        gzip_downloads=args.gzip,
        readings=Readings(
            months=args.months,
            export_open_range=args.export_open_range,
            multi_key_filter=args.multi_key_filter,
        ),
        unknown_fields=args.unknown_fields,
    ).start()
    if args.url_file:
        args.url_file.write_text(emulator.url + "\n")
    if args.webhook_url:
        key = os.environ.get("CIO_EMULATOR_WEBHOOK_SIGNING_KEY", "")
        if not key:
            parser.exit(2, "set CIO_EMULATOR_WEBHOOK_SIGNING_KEY to post webhooks\n")
        emulator.post_webhooks(
            args.webhook_url,
            key.encode(),
            start=args.webhook_start,
            readings={"in_flight": args.webhook_in_flight},
        )
    print(
        f"Customer.io emulator on {emulator.url} ({workspace.people.num_rows} people, "
        f"{workspace.deliveries.num_rows} deliveries, workspace {workspace.workspace_id})",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
