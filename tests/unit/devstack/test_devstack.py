from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cio_devkit.devstack import Devstack, DevstackError, processes
from cio_devkit.devstack.stack import Service


def _sleeper_service(fail: bool = False) -> Service:
    """A tiny HTTP server standing in for an emulator: exercises start, reuse, and stop without Node."""

    def argv(stack: Devstack, port: int) -> list[str]:
        code = (
            "import sys; sys.exit(3)"
            if fail
            else "import http.server,sys; http.server.test(port=int(sys.argv[1]), bind='127.0.0.1')"
        )
        return [sys.executable, "-c", code, str(port), str(stack.state_dir)]

    return Service(
        "sleeper",
        argv,
        lambda s, p: {"x": {"conn_type": "http", "port": p}},
        lambda p: processes.port_open("127.0.0.1", p),
        startup_timeout=10,
    )


def test_up_reuses_a_running_stack_and_down_stops_only_what_it_started(tmp_path: Path) -> None:
    stack = Devstack(tmp_path / "stack", [_sleeper_service()], [])
    first = stack.up()
    pid = stack.read_state()["services"]["sleeper"]["pid"]
    second = stack.up()
    assert first == second
    assert stack.read_state()["services"]["sleeper"]["pid"] == pid
    assert stack.status()["sleeper"]["running"] is True
    assert "AIRFLOW_CONN_X" in stack.env_file.read_text()

    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state = stack.read_state()
        state["services"]["impostor"] = {"pid": stranger.pid, "port": 1}
        stack._write_state(state)
        assert stack.down() == ["sleeper"]
        assert stranger.poll() is None, "down must never kill a process it did not start"
        assert not processes.is_ours(pid, stack.marker)
    finally:
        stranger.kill()
        stranger.wait()


def test_a_taken_port_is_never_attached_to(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert processes.free_port() != taken
        stack = Devstack(tmp_path / "stack", [_sleeper_service()], [])
        stack.up()
        try:
            assert stack.read_state()["services"]["sleeper"]["port"] != taken
        finally:
            stack.down()


def test_a_service_that_never_gets_healthy_is_a_clear_error(tmp_path: Path) -> None:
    stack = Devstack(tmp_path / "stack", [_sleeper_service(fail=True)], [])
    with pytest.raises(DevstackError, match="sleeper did not become healthy"):
        stack._start(stack.services[0], attempts=1)


def test_devstack_with_azurite_serves_blob_through_wasbhook(blob_store) -> None:  # type: ignore[no-untyped-def]
    blob_store.write_bytes("x/y.txt", b"payload")
    assert blob_store.read_bytes("x/y.txt") == b"payload"
    assert blob_store.list("x/") == ["x/y.txt"]


def test_the_devstacks_azurite_sends_no_telemetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Azurite reports usage to Microsoft unless told not to. With no network its exporter spools every report under
    the temp dir (thousands of files on a long-lived machine) and keeps re-scanning them; with telemetry on, its first
    report appears there within seconds of the start."""
    import time

    from azure.storage.blob import ContainerClient

    from cio_devkit.devstack.stack import BLOB_CONN_ID, default_services

    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))  # Node's os.tmpdir(), inherited by the spawned emulator
    stack = Devstack(tmp_path / "stack", [s for s in default_services() if s.name == "azurite"], [])
    connection_string = stack.up()[BLOB_CONN_ID]["extra"]["connection_string"]
    try:
        container = ContainerClient.from_connection_string(connection_string, "telemetry-check")
        container.create_container()
        container.upload_blob("x.txt", b"payload")
        time.sleep(8)  # with telemetry on, the start event and the requests are spooled after 3-5 s
    finally:
        stack.down()
    assert not list(private_tmp.rglob("*")), "Azurite wrote under the temp dir: is telemetry still on?"


def test_the_google_lists_the_devstack_creates_are_the_devstack_configs_platform_names() -> None:
    """Data Manager cannot create lists: the emulator must start with exactly the names the DAGs will look up."""
    from airflow_provider_cio.dag_config import load_dag_config
    from airflow_provider_cio.sync.naming import AudienceOwner
    from cio_devkit.devstack.emulator_services import devstack_user_lists

    cfg = load_dag_config(Path(__file__).resolve().parents[3] / "dags" / "config" / "devstack.yaml")
    expected = {
        cfg.platform_audience_name(a, "google"): AudienceOwner(cfg.env, cfg.workspace, a.name).description()
        for a in cfg.audiences
        if "google" in a.destinations
    }
    lists = devstack_user_lists()
    assert expected.items() <= lists.items()
