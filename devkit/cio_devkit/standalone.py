"""A real Airflow (``airflow standalone``: scheduler, dag-processor, triggerer, api-server) on our DAGs.

``dags test`` runs one DAG in-process and never schedules anything: backfills, Asset-triggered runs and deadline
alerts need a scheduler. This starts one in a private ``AIRFLOW_HOME`` with the devstack's connections, in its own
session, and stops the whole session on exit (a plain kill orphans the scheduler's workers, and the task
processes each sit in a process group of their own, so the session is what holds them all together).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from cio_devkit.airflow_env import airflow_env, devstack_home
from cio_devkit.devstack.processes import free_port, port_open
from cio_devkit.devstack.stack import project_root

log = logging.getLogger(__name__)

T = TypeVar("T")
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


class StandaloneError(RuntimeError):
    """Airflow did not come up, or an API call failed."""


class Standalone:
    """``with Standalone(home, devstack.environment()) as airflow: airflow.unpause("cio_export")``."""

    def __init__(
        self,
        home: Path,
        env: dict[str, str],
        *,
        dags_folder: Path | None = None,
        dag_config: Path | None = None,
        port: int | None = None,
        parallelism: int = 4,
        startup_timeout: float = 180.0,
    ) -> None:
        root = project_root()
        self.home = home.resolve()
        self.dags_folder = (dags_folder or root / "dags").resolve()
        self.dag_config = (dag_config or self.dags_folder / "config" / "devstack.yaml").resolve()
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.log_path = self.home / "standalone.log"
        self.airflow_bin = str(Path(sys.executable).with_name("airflow"))
        self.locked_retry_delay = 2.0  # seconds, times the attempt number (see cli)
        self.env = airflow_env(self.home, self.dags_folder, env)
        bin_dir = str(Path(sys.executable).parent)
        self.env.update(
            {
                # standalone starts its components as `airflow ...` from PATH: make that this venv's
                "PATH": bin_dir + os.pathsep + self.env.get("PATH", ""),
                "CIO_DAG_CONFIG": str(self.dag_config),
                "AIRFLOW__CORE__PARALLELISM": str(parallelism),
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(parallelism),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                # every component must sign and check task tokens with the same secret
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),  # HS512 wants 64+ bytes
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                # the log servers of the scheduler and triggerer default to 8793/8794 on every interface: a second
                # Airflow on this machine (make ui beside tests/scheduler) failed to bind them
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            }
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._token: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Standalone:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start ``airflow standalone`` in a new session and wait until every component reports healthy."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                [self.airflow_bin, "standalone"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                # stop() interrupts it as Ctrl-C does; a shell's background job inherits SIGINT ignored
                preexec_fn=_default_sigint,
            )
        log.info("airflow standalone pid %s on %s (log %s)", self._proc.pid, self.url, self.log_path)
        try:
            self.wait_until(self._healthy, timeout=self.startup_timeout, what="airflow standalone healthy")
            self.create_pools()
        except BaseException:
            self.stop()
            raise

    def create_pools(self) -> None:
        """The pool the DAG config puts Customer.io App API tasks in: without it the scheduler never queues them."""
        from airflow_provider_cio.dag_config import read_dag_config
        from cio_devkit.app_api_pool import pool_set_args

        pool = pool_set_args(read_dag_config(self.dag_config))
        if not pool:
            return
        # through the REST API (the same effect as `airflow pools set`, without starting a CLI process: seconds on
        # a busy machine); a pool kept from an earlier start of this home is updated instead
        _, _, name, slots, description = pool
        body = {"name": name, "slots": int(slots), "description": description, "include_deferred": False}
        try:
            self.api("POST", "/api/v2/pools", body)
        except StandaloneError as exc:
            if "HTTP 409" not in str(exc):
                raise
            self.api("PATCH", f"/api/v2/pools/{urllib.parse.quote(name, safe='')}", body)

    def _healthy(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise StandaloneError(
                f"airflow standalone exited with {self._proc.returncode}; log tail:\n{self.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as response:
                health = json.loads(response.read())
        except (OSError, ValueError):
            return False
        return all((health.get(part) or {}).get("status") == "healthy" for part in COMPONENTS)

    def stop(self, timeout: float = 30.0) -> None:
        """Ctrl-C to standalone (it stops its components and reads their last output), then SIGTERM what is left
        of the session (task processes), wait, SIGKILL leftovers.

        SIGTERM to every process at once left the api-server hanging until SIGKILL: standalone died first, and
        the api-server's shutdown lines went to a pipe nobody read any more.
        """
        if self._proc is None:
            return
        session = self._proc.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(session, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=timeout)
        for pid in session_members(session):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while session_members(session) and time.monotonic() < deadline:
            time.sleep(0.2)
        leftovers = session_members(session)
        if leftovers:
            names = sorted({_command(pid) for pid in leftovers})
            log.warning("SIGKILL to %s leftover airflow process(es): %s", len(leftovers), names)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=10)
        self._proc = None

    def wait(self) -> int | None:
        """Block until ``airflow standalone`` exits on its own (its exit code)."""
        return self._proc.wait() if self._proc is not None else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- helpers ---------------------------------------------------------------------------------------------

    def admin_password(self) -> str:
        """The password standalone generated for ``admin`` (SimpleAuthManager keeps it in AIRFLOW_HOME)."""
        passwords = json.loads((self.home / PASSWORDS_FILE).read_text())
        return str(passwords["admin"])

    def api(self, method: str, path: str, body: Any = None, *, timeout: float = 30.0) -> Any:
        """A call to the REST API (``/api/v2/...``) as ``admin``; returns the decoded JSON (None when empty)."""
        if self._token is None:
            login = {"username": "admin", "password": self.admin_password()}
            self._token = str(self._request("POST", "/auth/token", login, None, timeout)["access_token"])
        return self._request(method, path, body, self._token, timeout)

    def _request(self, method: str, path: str, body: Any, token: str | None, timeout: float) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            raise StandaloneError(f"{method} {path}: HTTP {exc.code} {detail}") from None
        return json.loads(raw) if raw else None

    def cli(self, *args: str, check: bool = True, attempts: int = 4) -> subprocess.CompletedProcess[str]:
        """An ``airflow`` CLI call against this instance's metadata DB (same environment).

        SQLite answers "database is locked" at once, whatever the busy timeout, when a read transaction must become
        a write while another process writes (CI saw it in ``backfill create --reprocess-behavior completed``).
        The failed call's transaction was rolled back, so it is run again, up to ``attempts`` times. A command that
        commits in several transactions may have done part of its work first (``backfill create``: a backfill with the
        runs of its first dates only); such a caller passes ``attempts=1`` and handles it (``tests/scheduler``).
        """
        for attempt in range(1, attempts + 1):
            result = subprocess.run([self.airflow_bin, *args], env=self.env, text=True, capture_output=True)
            locked = "database is locked" in result.stdout + result.stderr
            if result.returncode == 0 or not locked or attempt == attempts:
                break
            time.sleep(self.locked_retry_delay * attempt)
        if check and result.returncode != 0:
            raise StandaloneError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n{result.stdout[-2000:]}\n"
                f"{result.stderr[-2000:]}"
            )
        return result

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id`` (it appears in the API)."""

        def parsed() -> dict[str, Any] | None:
            try:
                return dict(self.api("GET", f"/api/v2/dags/{dag_id}"))
            except StandaloneError:
                return None

        return self.wait_until(parsed, timeout=timeout, what=f"DAG {dag_id} parsed")

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        runs = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=logical_date")
        return list(runs["dag_runs"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        quoted = urllib.parse.quote(run_id, safe="")
        found = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=100")
        return {ti["task_id"]: ti["state"] for ti in found["task_instances"]}

    def wait_until(
        self, check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 1.0
    ) -> T:
        """Poll ``check`` until it returns something truthy; fail with the log tail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise StandaloneError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)


def _command(pid: int) -> str:
    """A short name for a process in messages (its command line's first words)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0")[:3])[-80:]


def session_members(session: int) -> list[int]:
    """Live pids whose session id is ``session`` (``setsid`` put standalone and all its children there)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        # fields: state, ppid, pgrp, session, ...; zombies are already dead (their parent reaps them)
        if len(fields) > 3 and int(fields[3]) == session and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """``make ui``: the devstack plus Airflow's UI on our DAGs, in the foreground until Ctrl-C."""
    import argparse

    from cio_devkit.devstack import Devstack, DevstackError

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8080, help="api-server/UI port (0 = any free port)")
    parser.add_argument(
        "--home", type=Path, default=None, help="AIRFLOW_HOME (default .devstack/airflow, make demo's)"
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="DAG config (default dags/config/devstack.yaml)"
    )
    args = parser.parse_args(argv)

    stack = Devstack.default()
    try:
        stack.up()
    except DevstackError as exc:
        print(f"ui: {exc}", file=sys.stderr)
        return 2
    home = args.home or devstack_home(stack.state_dir)
    port = args.port or None
    if port is not None and port_open("127.0.0.1", port):
        print(f"port {port} is taken; using a free one", flush=True)
        port = None
    airflow = Standalone(home, stack.environment(), dag_config=args.config, port=port)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"starting Airflow (log {airflow.log_path}); this takes about a minute...", flush=True)
    try:
        airflow.start()
        print(
            f"\nAirflow UI : {airflow.url}\nlogin      : admin / {airflow.admin_password()}"
            f"\n(password kept in {home / PASSWORDS_FILE}; DAG config {airflow.dag_config})"
            "\nCtrl-C stops Airflow; the devstack keeps running (make devstack-down stops it).",
            flush=True,
        )
        airflow.wait()
        print(f"airflow standalone exited; log tail:\n{airflow.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping Airflow...", flush=True)
        return 0
    except StandaloneError as exc:
        print(f"ui: {exc}", file=sys.stderr)
        return 1
    finally:
        airflow.stop()


if __name__ == "__main__":
    raise SystemExit(main())
