"""An emulator never imports the production code it checks (issue 15, "Platform truth").

Each emulator holds its own reading of the platform's docs (wire formats, schemas, normalization). If it imported
our reader's column list or our normalizer, one shared mistake would pass both sides and no test could see it. The
rule is read from the source (AST), so it also covers imports inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import airflow_provider_cio

PACKAGE = "airflow_provider_cio"
ROOT = Path(airflow_provider_cio.__file__).resolve().parent
EMULATORS = ROOT / "emulators"
ALLOWED = f"{PACKAGE}.emulators"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module ``source`` imports, absolute names (relative imports resolved), with their line numbers."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == PACKAGE:  # ``from airflow_provider_cio import datasets``: judged by the names taken
                found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, target))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((node.lineno, arg.value))
    return found


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in {"import_module", "__import__"}


def _violations(label: str, source: str, module: str, is_package: bool = False) -> list[str]:
    out = []
    for line, target in _imported_modules(source, module, is_package):
        inside_package = target == PACKAGE or target.startswith(PACKAGE + ".")
        if inside_package and not (target == ALLOWED or target.startswith(ALLOWED + ".")):
            out.append(f"{label}:{line} imports {target}")
    return out


def test_no_emulator_module_imports_production_code() -> None:
    files = sorted(EMULATORS.rglob("*.py"))
    assert len(files) > 10, "the emulators package moved; point EMULATORS at it"
    violations = [
        v
        for path in files
        for v in _violations(
            str(path.relative_to(ROOT.parent)),
            path.read_text(encoding="utf-8"),
            _module_name(path),
            path.name == "__init__.py",
        )
    ]
    assert not violations, "emulators must hold their own reading of the docs:\n" + "\n".join(violations)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from airflow_provider_cio.datasets import arrow_schema\n", True),
        ("import airflow_provider_cio.customerio.dataout_format as f\n", True),
        ("from airflow_provider_cio import identity\n", True),
        ("def f():\n    from airflow_provider_cio.storage.base import ObjectStore\n", True),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from airflow_provider_cio.sync import x\n",
            True,
        ),
        ("from ...customerio import client\n", True),  # relative, climbs out of emulators/
        ("import importlib\nimportlib.import_module('airflow_provider_cio.identity')\n", True),
        ("from airflow_provider_cio.emulators.http_server import EmulatorHTTPServer\n", False),
        ("from . import faults\nfrom ..http_server import EmulatorHTTPServer\n", False),
        ("from airflow_provider_cio import emulators\n", False),
        ("import pyarrow as pa\n", False),
    ],
)
def test_the_check_catches_every_import_spelling(source: str, caught: bool) -> None:
    """The check itself: each spelling of a forbidden import is caught, the allowed ones pass."""
    module = f"{ALLOWED}.customerio.probe"
    assert bool(_violations("probe.py", source, module)) is caught
