"""Run one emulator in the foreground until SIGTERM (the devstack starts this as a detached process)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from cio_devkit.devstack.emulator_services import STARTERS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", choices=sorted(STARTERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: stop_event.set())
    stop = STARTERS[args.service](args.port, args.state_dir)
    try:
        stop_event.wait()
    finally:
        stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
