"""The provider's distribution holds no dev kit: what ``pip install airflow-provider-cio`` puts into a user's Airflow
is the provider alone; emulators, the devstack, the demo and the standalone UI come only with ``cio-devkit``.

Checked with setuptools' own package discovery over each ``pyproject.toml``'s find settings (the function the wheel
build calls), so a pattern widened by mistake or a dev-kit module put back under the provider fails here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
DEV_KIT = ("emulators", "devstack", "demo", "standalone", "airflow_env", "app_api_pool")


def _packages(project: Path) -> list[str]:
    config = tomllib.loads((project / "pyproject.toml").read_text())
    found = config["tool"]["setuptools"]["packages"]["find"]
    return find_packages(where=str(project), include=found["include"], exclude=found.get("exclude", ()))


def _modules(project: Path, packages: list[str]) -> set[str]:
    names = set()
    for package in packages:
        folder = project / package.replace(".", "/")
        names |= {f"{package}.{path.stem}" for path in folder.glob("*.py")}
    return names


def test_the_provider_distribution_holds_no_dev_kit_module() -> None:
    packages = _packages(ROOT)
    assert "airflow_provider_cio" in packages and "airflow_provider_cio.sync" in packages
    modules = _modules(ROOT, packages)
    leaked = sorted(name for name in modules if set(name.split(".")[1:]) & set(DEV_KIT))
    assert leaked == [], f"dev kit modules in the provider's wheel: {leaked}"
    assert not any(name.split(".")[0] != "airflow_provider_cio" for name in packages)


def test_the_dev_kit_distribution_holds_every_dev_kit_part() -> None:
    packages = _packages(ROOT / "devkit")
    modules = _modules(ROOT / "devkit", packages)
    for part in DEV_KIT:
        assert f"cio_devkit.{part}" in packages or f"cio_devkit.{part}" in modules, part
    assert all(name.split(".")[0] == "cio_devkit" for name in packages)
