"""``python -m cio_devkit.emulators.google --port P --cert-dir D [--faults F.json] [--seed-list C:NAME]
[--dm-processing-seconds S]``.

Serves until interrupted. With ``--cert-dir`` the certificate persists across restarts (clients keep trusting it);
point clients at ``D/trust-bundle.pem`` through ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from cio_devkit.emulators.google.faults import load_faults
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cio_devkit.emulators.google")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--cert-dir", type=Path, help="where the TLS key/cert/bundle live (created if missing)"
    )
    parser.add_argument("--insecure", action="store_true", help="plaintext gRPC (Data Manager clients only)")
    parser.add_argument("--faults", type=Path, help="JSON list of faults to arm at start")
    parser.add_argument(
        "--dm-processing-seconds",
        type=float,
        default=None,
        help="seconds a Data Manager request takes to process (default: hours, as Google)",
    )
    parser.add_argument(
        "--seed-list", action="append", default=[], metavar="CUSTOMER:NAME", help="pre-create a user list"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = EmulatorSettings()
    if args.dm_processing_seconds is not None:
        settings.dm_processing_seconds = args.dm_processing_seconds
    emulator = GoogleEmulator(
        args.host, args.port, tls=not args.insecure, cert_dir=args.cert_dir, settings=settings
    )
    for spec in args.seed_list:
        customer_id, _, name = spec.partition(":")
        list_id = emulator.create_user_list(customer_id, name)
        logging.info("seeded user list customers/%s/userLists/%s", customer_id, list_id)
    if args.faults:
        for fault in load_faults(args.faults):
            emulator.core.faults.arm(fault)
    emulator.start()
    # A line the devstack can parse for the chosen port.
    print(f"google emulator ready on {emulator.target} cert={emulator.cert_path or '-'}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emulator.stop(grace=1.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
