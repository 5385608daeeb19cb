"""``make ui`` as the README runs it: one start shared by the module's tests, stopped with Ctrl-C at the end.

The UI is started through the same entry point as ``make ui`` (``python -m airflow_provider_cio.standalone``), in a
temp ``--home`` and on ``--port 0``, against the test session's devstack (``CIO_DEVSTACK_DIR``: its ``up`` reuses
the healthy running stack). What it prints is what a user reads: the URL and the login.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from airflow_provider_cio.devstack import Devstack
from airflow_provider_cio.devstack.stack import project_root

START_TIMEOUT = 420.0  # seconds: Airflow's components import for a minute or two on two busy cores
STOP_TIMEOUT = 90.0


@dataclass
class RunningUi:
    """The ``make ui`` process, what it printed, and how to stop it as Ctrl-C does."""

    proc: subprocess.Popen[str]
    home: Path
    lines: list[str] = field(default_factory=list)
    url: str = ""
    password: str = ""
    exit_code: int | None = None

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_banner(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            url = re.search(r"^Airflow UI : (\S+)$", text, re.M)
            login = re.search(r"^login\s+: admin / (\S+)$", text, re.M)
            if url and login:
                self.url, self.password = url[1], login[1]
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        tail = (
            (self.home / "standalone.log").read_text(errors="replace")[-3000:] if self.home.exists() else ""
        )
        raise AssertionError(f"make ui printed no URL/login; output:\n{text}\nstandalone.log tail:\n{tail}")

    def ctrl_c(self) -> int:
        """SIGINT to the entry point, as a terminal's Ctrl-C; its exit code (idempotent)."""
        if self.exit_code is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
            try:
                self.exit_code = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.exit_code = self.proc.wait()
        return self.exit_code


def processes_of(home: Path) -> list[int]:
    """Live pids whose environment names ``home`` as AIRFLOW_HOME (every process ``make ui`` started)."""
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text()
        except OSError:
            continue
        if marker in environ.split(b"\0") and state[state.rfind(")") + 2 :].split()[0] != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def make_ui(devstack: Devstack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUi]:
    home = tmp_path_factory.mktemp("ui") / "airflow-ui"
    env = {**os.environ, "CIO_DEVSTACK_DIR": str(devstack.state_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_cio.standalone", "--port", "0", "--home", str(home)],
        cwd=project_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    ui = RunningUi(proc, home)
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: ui.lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        ui.wait_for_banner(START_TIMEOUT)
        yield ui
    finally:
        ui.ctrl_c()
        for pid in processes_of(home):  # only if a test failed before checking the stop
            os.kill(pid, signal.SIGKILL)
