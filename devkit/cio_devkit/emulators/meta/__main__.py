"""Run the Meta Graph emulator in the foreground: ``python -m cio_devkit.emulators.meta --port 8093``.

The access token, app secret and ad account come from flags or ``META_EMULATOR_*`` environment variables, so the
devstack can hand the same values to Airflow connections. Timing and the readings of what Meta's docs leave open
(``settings.MetaEmulatorSettings``) are flags too: ``--add-delay 3600 --remove-delay 86400`` is closer to Meta.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from cio_devkit.emulators.meta.server import MetaGraphEmulator
from cio_devkit.emulators.meta.settings import (
    EXPIRED_REPLACE_READINGS,
    REMOVAL_MATCH_READINGS,
    MetaEmulatorSettings,
)

DEFAULT_TOKEN = "emulator-token"
DEFAULT_ACCOUNT = "act_1000"


def start_for_devstack(port: int, state_dir: Path | None = None) -> Callable[[], None]:
    """Start with the environment's (or default) credentials; return ``stop`` (a devstack ``Starter``)."""
    emulator = MetaGraphEmulator(
        access_token=os.environ.get("META_EMULATOR_ACCESS_TOKEN", DEFAULT_TOKEN),
        app_secret=os.environ.get("META_EMULATOR_APP_SECRET") or None,
        ad_account_id=os.environ.get("META_EMULATOR_AD_ACCOUNT_ID", DEFAULT_ACCOUNT),
        port=port,
    ).start()
    return emulator.stop


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting (seconds for delays)."""
    defaults = MetaEmulatorSettings()
    for name in ("add_delay", "remove_delay", "replace_delay", "count_delay"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    parser.add_argument("--count-floor", type=int, default=defaults.count_floor)
    parser.add_argument("--removal-match", choices=REMOVAL_MATCH_READINGS, default=defaults.removal_match)
    parser.add_argument("--replace-session-ttl", type=float, default=defaults.replace_session_ttl)
    parser.add_argument(
        "--expired-replace-leaves", choices=EXPIRED_REPLACE_READINGS, default=defaults.expired_replace_leaves
    )
    parser.add_argument("--min-size-for-removal", type=int, default=defaults.min_size_for_removal)


def settings_from(args: argparse.Namespace) -> MetaEmulatorSettings:
    names = (
        "add_delay",
        "remove_delay",
        "replace_delay",
        "count_delay",
        "count_floor",
        "removal_match",
        "replace_session_ttl",
        "expired_replace_leaves",
        "min_size_for_removal",
    )
    return MetaEmulatorSettings(**{name: getattr(args, name) for name in names})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--access-token", default=os.environ.get("META_EMULATOR_ACCESS_TOKEN", DEFAULT_TOKEN))
    parser.add_argument("--app-secret", default=os.environ.get("META_EMULATOR_APP_SECRET"))
    parser.add_argument(
        "--ad-account-id", default=os.environ.get("META_EMULATOR_AD_ACCOUNT_ID", DEFAULT_ACCOUNT)
    )
    add_settings_arguments(parser)
    args = parser.parse_args(argv)
    emulator = MetaGraphEmulator(
        access_token=args.access_token,
        app_secret=args.app_secret or None,
        ad_account_id=args.ad_account_id,
        host=args.host,
        port=args.port,
        settings=settings_from(args),
    ).start()
    print(f"Meta Graph emulator on {emulator.url} (ad account {emulator.ad_account_id})", flush=True)
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
