"""The compose stack kept correct by construction: no Docker engine here, so we check its structure and the
consistency of its pins, ports and connections with the package and the devstack."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from cio_devkit.devstack import emulator_services
from cio_devkit.devstack.stack import default_services

ROOT = Path(__file__).resolve().parents[3]
DOCKER = ROOT / "docker"
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
EMULATORS = ("google", "customerio", "meta")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DOCKER / "docker-compose.yml").read_text()))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


@pytest.fixture(scope="module")
def write_env() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cio_docker_write_env", DOCKER / "write_env.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def _init_ports(services: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The ``--port NAME=PORT`` pairs airflow-init hands to write_env.py."""
    script = " ".join(_command(services["airflow-init"]))
    return {name: int(port) for name, port in re.findall(r"--port (\w[\w-]*)=(\d+)", script)}


def test_every_part_of_the_stack_is_a_service(services: dict[str, dict[str, Any]]) -> None:
    expected = {"postgres", "azurite", "airflow-init", *EMULATORS, *AIRFLOW_COMPONENTS}
    assert expected <= set(services)


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image} has no tag"
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: image tag {tag} is not a version"


def test_dockerfile_is_the_official_image_of_our_airflow_installed_with_our_constraints() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    airflow_version = importlib.metadata.version("apache-airflow")
    assert re.search(rf"^FROM apache/airflow:{re.escape(airflow_version)}-python3\.11$", dockerfile, re.M)
    install = next(line for line in dockerfile.splitlines() if line.startswith("RUN pip install"))
    assert "-c constraints-3.11.txt" in install
    assert f'"apache-airflow=={airflow_version}"' in install
    assert "[distributed]" in install  # the PostgreSQL drivers (psycopg2, asyncpg)


def test_the_build_context_admits_what_the_dockerfile_copies() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    allowed = [
        line[1:].removesuffix("/**")
        for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    sources = [
        source
        for line in dockerfile.splitlines()
        if line.startswith("COPY")
        for source in [part for part in line.split()[1:] if not part.startswith("--")][:-1]
    ]
    assert sources
    for source in sources:
        assert source.rstrip("/") in allowed, f"COPY {source} is excluded by Dockerfile.dockerignore"
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_azurite_image_matches_the_devstack_azurite() -> None:
    compose_image = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())["services"]["azurite"][
        "image"
    ]
    npm_version = json.loads((ROOT / "package.json").read_text())["dependencies"]["azurite"]
    assert compose_image == f"mcr.microsoft.com/azure-storage/azurite:{npm_version}"


def test_every_registered_emulator_runs_as_a_service_on_the_port_its_connections_use(
    services: dict[str, dict[str, Any]],
) -> None:
    init_ports = _init_ports(services)
    for name in [*emulator_services.STARTERS, *EMULATORS]:
        command = _command(services[name])
        assert command[:4] == ["python", "-m", "cio_devkit.devstack.run_service", name]
        port = int(command[command.index("--port") + 1])
        assert init_ports[name] == port, (
            f"{name}: service listens on {port}, connections say {init_ports.get(name)}"
        )
        assert command[command.index("--state-dir") + 1] == "/state"
        assert services[name]["network_mode"] == "service:stack-net"


def test_init_gives_every_devstack_service_a_port(services: dict[str, dict[str, Any]]) -> None:
    init_ports = _init_ports(services)
    assert {service.name for service in default_services()} <= set(init_ports)
    azurite_command = _command(services["azurite"])
    assert init_ports["azurite"] == int(azurite_command[azurite_command.index("--blobPort") + 1])


def test_airflow_components_share_the_stack_and_start_after_init(services: dict[str, dict[str, Any]]) -> None:
    for name in (*AIRFLOW_COMPONENTS, "airflow-init"):
        service = services[name]
        assert service["network_mode"] == "service:stack-net"
        conn = service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        host = re.match(r"postgresql\+psycopg2://[^@]+@([^:/]+):5432/", conn)
        assert host and host.group(1) in services, f"{name}: metadata DB host is not a compose service"
        assert service["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"]
    for name in AIRFLOW_COMPONENTS:
        service = services[name]
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        command = _command(service)
        assert command[:2] == ["bash", "-c"] and command[2].startswith(". /state/env.sh && exec airflow ")
        assert name in command[2]
    assert "127.0.0.1:8080:8080" in services["stack-net"]["ports"]


def test_write_env_renders_the_devstack_connections_for_the_compose_ports(
    services: dict[str, dict[str, Any]], write_env: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "google").mkdir()
    (tmp_path / "google" / "lists.json").write_text(json.dumps({"engaged_clickers_14d": "4242"}))
    text = write_env.render_env(tmp_path, _init_ports(services))
    exported = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in text.splitlines())
    blob = json.loads(exported["AIRFLOW_CONN_CIO_BLOB"])
    assert "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;" in blob["extra"]["connection_string"]
    google = json.loads(exported["AIRFLOW_CONN_CIO_GOOGLE_DM"])
    assert google["host"] == "localhost:9101"
    assert google["extra"]["user_list_ids"] == {"engaged_clickers_14d": "4242"}
    assert json.loads(exported["AIRFLOW_CONN_CIO_API"])["host"] == "http://127.0.0.1:9102"
    assert exported["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] == str(tmp_path / "google" / "trust-bundle.pem")


def test_write_env_refuses_a_devstack_service_without_a_port(write_env: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no compose port for devstack service"):
        write_env.render_env(tmp_path, {"azurite": 10000})
    assert write_env.main(["--state-dir", str(tmp_path), "--port", "azurite=x"]) == 2
    assert not (tmp_path / "env.sh").exists()


def test_init_creates_the_app_api_pool_of_the_config_the_image_dags_load(
    services: dict[str, dict[str, Any]],
) -> None:
    """Without the pool the scheduler never queues a land task: init creates it from the DAGs' own config (the
    Dockerfile copies dags/ to /opt/airflow/dags, and nothing sets CIO_DAG_CONFIG)."""
    script = " ".join(_command(services["airflow-init"]))
    created = re.search(r"python -m cio_devkit\.app_api_pool (\S+)", script)
    assert created and created.group(1) == "/opt/airflow/dags/config/cio.yaml"
    assert script.index("airflow db migrate") < created.start() < script.index("write_env.py")
    assert "COPY --chown=airflow:0 dags /opt/airflow/dags" in (DOCKER / "Dockerfile").read_text()
    assert "CIO_DAG_CONFIG" not in json.dumps(services)
