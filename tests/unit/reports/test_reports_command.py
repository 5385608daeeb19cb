"""``python -m airflow_provider_cio.reports``: a day's reports as links that open (or local copies), against the
devstack's Azurite, the way a user runs it after ``make demo``."""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_cio.reports.__main__ import main
from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import project_root

DAY = "2026-11-01"


@pytest.fixture
def config(devstack: Devstack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    """The devstack config on a fresh container, holding one day's reports (and a Parquet part, not a report)."""
    from airflow_provider_cio.hooks.blob import object_store

    container = f"rep{uuid.uuid4().hex[:12]}"
    text = (project_root() / "dags" / "config" / "devstack.yaml").read_text()
    path = tmp_path / "cio.yaml"
    path.write_text(text.replace("container: customerio\n", f"container: {container}\n", 1))
    monkeypatch.setenv("CIO_DEVSTACK_DIR", str(devstack.state_dir))
    monkeypatch.delenv("CIO_DAG_CONFIG", raising=False)
    store = object_store("cio_blob", container)
    store.write_bytes(
        f"landing/dev/demo/deliveries/dt={DAY}/_quality/report.html", b"<html>deliveries</html>"
    )
    store.write_bytes(f"landing/dev/demo/deliveries/dt={DAY}/part-0-00000.parquet", b"PAR1")
    store.write_bytes(
        f"audiences/dev/demo/engaged_clickers_14d/dt={DAY}/_quality/report.html", b"<html>hv gate</html>"
    )
    store.write_bytes(f"audiences/dev/demo/engaged_clickers_14d/dt={DAY}/_stats.json", b'{"size": 3}')
    store.write_bytes("landing/dev/demo/sync_history/_trend/engaged_clickers_14d.html", b"<html>trend</html>")
    return path, store


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_lists_the_days_reports_with_links_that_open(config: tuple[Path, Any], capsys: Any) -> None:
    path, _ = config
    assert main(["--date", DAY, "--devstack", "--config", str(path), "--minutes", "5"]) == 0
    lines = _lines(capsys)
    rows = [line.split() for line in lines if "http" in line]
    subjects = sorted((row[0] if row[0] != "Gate" else "Gate report", row[-2]) for row in rows)
    assert subjects == [
        ("Audience", "engaged_clickers_14d"),
        ("Gate report", "deliveries"),
        ("Gate report", "engaged_clickers_14d"),
        ("Match-rate", "engaged_clickers_14d"),
    ]
    bodies = {}
    for row in rows:
        with urllib.request.urlopen(row[-1], timeout=10) as response:  # no credentials: the link is enough
            bodies[row[-2] + response.headers["Content-Type"]] = response.read()
    assert bodies["deliveriestext/html; charset=utf-8"] == b"<html>deliveries</html>"
    assert bodies["engaged_clickers_14dapplication/json"] == b'{"size": 3}'
    assert "parquet" not in "\n".join(lines)
    assert lines[-1].startswith("(links valid 5 minutes")


def test_local_copies_print_file_urls(config: tuple[Path, Any], tmp_path: Path, capsys: Any) -> None:
    path, _ = config
    assert main(["--date", DAY, "--devstack", "--config", str(path), "--local", str(tmp_path / "out")]) == 0
    urls = [line.split()[-1] for line in _lines(capsys)]
    assert len(urls) == 4 and all(url.startswith("file://") for url in urls)
    copies = {Path(urllib.request.url2pathname(url.removeprefix("file://"))).read_bytes() for url in urls}
    assert b"<html>trend</html>" in copies and b"<html>hv gate</html>" in copies


def test_a_day_without_reports_says_so(config: tuple[Path, Any], capsys: Any) -> None:
    path, _ = config
    assert main(["--date", "2026-10-01", "--devstack", "--config", str(path)]) == 1
    assert "no reports for 2026-10-01" in capsys.readouterr().out


def test_devstack_not_running_is_reported_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("CIO_DEVSTACK_DIR", str(tmp_path / "none"))
    assert main(["--date", DAY, "--devstack"]) == 2
    assert "Azurite is not running" in capsys.readouterr().err
