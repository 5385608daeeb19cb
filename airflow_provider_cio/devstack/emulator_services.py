"""The platform emulators the devstack runs, and the Airflow connections that point at them.

Each emulator is started through ``run_service`` so every devstack process carries the same marker and CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_cio.devstack.stack import Devstack

ConnectionFactory = Callable[["Devstack", int], dict[str, dict[str, Any]]]

CONNECTIONS: dict[str, ConnectionFactory] = {}

# name -> start(port, state_dir) returning a stop() callable
Starter = Callable[[int, "Path"], Callable[[], None]]
STARTERS: dict[str, Starter] = {}
