"""``python -m airflow_provider_cio.webhooks`` refuses to start without its key or storage, naming the setting
(never a value), and exits 2 (a configuration error: restarting it changes nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIO_WEBHOOK_")}
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_cio.webhooks", "--port", "0", "--journal-dir", str(tmp_path)],
        env={**clean, **env}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_without_a_signing_key(tmp_path: Path) -> None:
    result = _run({}, tmp_path)
    assert result.returncode == 2
    assert "configuration" in result.stderr and "CIO_WEBHOOK_SIGNING_KEY" in result.stderr


def test_without_the_landing_storage(tmp_path: Path) -> None:
    result = _run({"CIO_WEBHOOK_SIGNING_KEY": "a-secret-signing-key"}, tmp_path)
    assert result.returncode == 2
    assert "CIO_WEBHOOK_BLOB_CONNECTION_STRING" in result.stderr
    assert "a-secret-signing-key" not in result.stderr + result.stdout
