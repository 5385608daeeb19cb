"""``make ui`` as the README runs it: one start shared by the module's tests, stopped with Ctrl-C at the end.

The UI is started through the same entry point as ``make ui`` (``python -m cio_devkit.standalone``), in a
temp ``--home`` and on ``--port 0``, against the test session's devstack (``CIO_DEVSTACK_DIR``: its ``up`` reuses
the healthy running stack). What it prints is what a user reads: the URL and the login.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from ui_support import START_TIMEOUT, RunningUi, processes_of

from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import project_root


@pytest.fixture(scope="module")
def make_ui(devstack: Devstack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUi]:
    home = tmp_path_factory.mktemp("ui") / "airflow-ui"
    env = {**os.environ, "CIO_DEVSTACK_DIR": str(devstack.state_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cio_devkit.standalone", "--port", "0", "--home", str(home)],
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
