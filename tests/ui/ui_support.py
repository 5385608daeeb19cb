"""The running ``make ui`` process as the tests see it (a module of its own: ``conftest`` names clash across
test folders)."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

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
