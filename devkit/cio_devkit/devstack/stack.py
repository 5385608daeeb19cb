"""The devstack: which services run, on which ports, and the Airflow connections that reach them.

State lives in one folder (default ``.devstack/`` under the project): ``state.json`` (pids, ports, markers),
one log per service, Azurite's data. ``up`` reuses a healthy running stack, ``down`` stops only the pids recorded
there whose command line still carries our marker, so it never kills a stranger that reused a pid.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cio_devkit.devstack import processes

AZURITE_ACCOUNT = "devstoreaccount1"
# Microsoft's published, well-known development key for the Azure Storage emulators (not a secret).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
BLOB_CONN_ID = "cio_blob"


class DevstackError(RuntimeError):
    """The devstack could not start (a missing tool, a port that would not bind, a service that never got healthy)."""


@dataclass
class Service:
    """One background process of the stack."""

    name: str
    argv: Callable[[Devstack, int], list[str]]
    connections: Callable[[Devstack, int], dict[str, dict[str, Any]]]
    health: Callable[[int], bool]
    environment: Callable[[Devstack, int], dict[str, str]] | None = None
    sigterms: int = 1
    startup_timeout: float = 60.0


def project_root() -> Path:
    """The folder holding package.json (where Azurite is installed), searching up from the working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "package.json").exists() and (folder / "pyproject.toml").exists():
            return folder
    return here


def azurite_binary() -> str:
    explicit = os.environ.get("AZURITE_BIN")
    if explicit:
        return explicit
    local = project_root() / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found:
        return found
    raise DevstackError(
        "Azurite is not installed: run `make setup` (needs Node.js 20+ and npm: https://nodejs.org) "
        "or set AZURITE_BIN to an azurite-blob binary"
    )


def _azurite_argv(stack: Devstack, port: int) -> list[str]:
    return [
        azurite_binary(),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(stack.state_dir / "azurite"),
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
        # Azurite collects telemetry by default: it tries to send every request's name and sizes to Microsoft (no
        # network here: the sends fail and pile up under the system temp dir, thousands of files that its exporter
        # re-scans while serving requests). Nothing leaves the machine, and the emulator's CPU is its own work.
        "--disableTelemetry",
    ]


def blob_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


def _azurite_connections(stack: Devstack, port: int) -> dict[str, dict[str, Any]]:
    return {
        BLOB_CONN_ID: {
            "conn_type": "wasb",
            "login": AZURITE_ACCOUNT,
            "host": f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}",
            "extra": {"connection_string": blob_connection_string(port)},
        }
    }


def _http_ok(port: int) -> bool:
    return processes.port_open("127.0.0.1", port)


def _python_service_argv(service: str) -> Callable[[Devstack, int], list[str]]:
    def argv(stack: Devstack, port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "cio_devkit.devstack.run_service",
            service,
            "--port",
            str(port),
            "--state-dir",
            str(stack.state_dir),
        ]

    return argv


def default_services() -> list[Service]:
    from cio_devkit.devstack import emulator_services

    services = [
        Service("azurite", _azurite_argv, _azurite_connections, _http_ok, sigterms=2, startup_timeout=60),
    ]
    for name, connections in emulator_services.CONNECTIONS.items():
        environment = emulator_services.ENVIRONMENT.get(name)
        services.append(Service(name, _python_service_argv(name), connections, _http_ok, environment))
    return services


def default_seeders() -> list[Callable[[Devstack], None]]:
    from cio_devkit.devstack.seed import seed_workspace

    return [seed_workspace]


@dataclass
class Devstack:
    state_dir: Path
    services: list[Service] = field(default_factory=default_services)
    seeders: list[Callable[[Devstack], None]] = field(default_factory=default_seeders)

    @classmethod
    def default(cls) -> Devstack:
        return cls(Path(os.environ.get("CIO_DEVSTACK_DIR") or project_root() / ".devstack").resolve())

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def marker(self) -> str:
        """Every process we start carries the state folder's path on its command line."""
        return str(self.state_dir)

    def read_state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_file.read_text()))
        except (OSError, ValueError):
            return {"services": {}}

    def _write_state(self, state: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.state_file)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per service: pid, port, running (alive, ours, answering)."""
        out: dict[str, dict[str, Any]] = {}
        recorded = self.read_state().get("services", {})
        for service in self.services:
            entry = recorded.get(service.name)
            if not entry:
                out[service.name] = {"running": False}
                continue
            alive = processes.is_ours(entry["pid"], self.marker)
            out[service.name] = {
                "pid": entry["pid"],
                "port": entry["port"],
                "running": alive and service.health(entry["port"]),
            }
        return out

    def up(self) -> dict[str, dict[str, Any]]:
        """Start every service not already running; reuse healthy ones. Returns the connections."""
        state = self.read_state()
        recorded: dict[str, Any] = state.setdefault("services", {})
        current = self.status()
        for service in self.services:
            if current[service.name].get("running"):
                continue
            recorded[service.name] = self._start(service)
            self._write_state(state)
        connections: dict[str, dict[str, Any]] = {}
        environment: dict[str, str] = {}
        for service in self.services:
            port = recorded[service.name]["port"]
            connections.update(service.connections(self, port))
            if service.environment is not None:
                environment.update(service.environment(self, port))
        state["connections"] = connections
        state["environment"] = environment
        self._write_state(state)
        self.env_file.write_text(self.render_env())
        for seed in self.seeders:
            seed(self)
        return connections

    def _start(self, service: Service, attempts: int = 3) -> dict[str, Any]:
        last_log = self.state_dir / f"{service.name}.log"
        for _ in range(attempts):
            port = processes.free_port()
            pid = processes.spawn(service.argv(self, port), log_path=last_log, cwd=project_root())

            def healthy(pid: int = pid, port: int = port) -> bool:
                return service.health(port) and processes.is_ours(pid, self.marker)

            ok = processes.wait_until(healthy, timeout=service.startup_timeout)
            if ok:
                return {"pid": pid, "port": port}
            processes.stop(pid, self.marker, sigterms=service.sigterms)
        tail = last_log.read_text(errors="replace")[-800:] if last_log.exists() else ""
        raise DevstackError(
            f"{service.name} did not become healthy after {attempts} attempts; log tail:\n{tail}"
        )

    def down(self) -> list[str]:
        """Stop what we started (and only that). Returns the names of services stopped."""
        state = self.read_state()
        stopped = []
        by_name = {service.name: service for service in self.services}
        for name, entry in list(state.get("services", {}).items()):
            service = by_name.get(name)
            sigterms = service.sigterms if service else 1
            if processes.stop(entry["pid"], self.marker, sigterms=sigterms):
                stopped.append(name)
            state["services"].pop(name, None)
        state.pop("connections", None)
        state.pop("environment", None)
        self._write_state(state)
        return stopped

    def connections(self) -> dict[str, dict[str, Any]]:
        return dict(self.read_state().get("connections", {}))

    def environment(self) -> dict[str, str]:
        """Every variable a worker needs: AIRFLOW_CONN_* plus the services' own (e.g. trusted gRPC roots)."""
        state = self.read_state()
        return {**self.connection_env(state.get("connections", {})), **state.get("environment", {})}

    @property
    def env_file(self) -> Path:
        return self.state_dir / "env.sh"

    @staticmethod
    def connection_env(connections: dict[str, dict[str, Any]]) -> dict[str, str]:
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in connections.items()}

    def render_env(self) -> str:
        lines = [f"export {key}={shlex.quote(value)}" for key, value in self.environment().items()]
        return "\n".join(lines) + "\n"
