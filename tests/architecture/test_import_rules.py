"""The one-way rule, enforced: core <- adapter <- dev kit, stages in pipeline order, emulators on their own.

* The **core** (the domain: landing, quality, audiences, sync, destinations and what they share) never imports
  Airflow, the adapter or the dev kit: it runs and is tested without Airflow.
* The **adapter** (hooks, operators, sensors, triggers, notifications, DAG config and wiring) never imports the dev
  kit: a user's Airflow installs the provider without emulators.
* The **dev kit** (emulators, devstack, demo, standalone, ...) may import the core and the adapter.
* **Stages** never import a later stage: landing -> quality -> audiences -> sync -> destinations.
* **Emulators** import nothing of the provider: each holds its own reading of a platform's docs, so one shared
  mistake cannot pass both sides (issue 15, "Platform truth").

Every module must be placed in ``LAYER_OF`` (longest dotted prefix wins), so a new package cannot slip past.
"""

from __future__ import annotations

import pytest
from import_graph import (
    PACKAGE,
    Import,
    all_imports,
    imported_modules,
    module_name,
    package_dirs,
)

CORE, ADAPTER, DEVKIT = "core", "adapter", "dev kit"

LAYER_OF: dict[str, str] = {
    # the core: Airflow-free
    f"{PACKAGE}.errors": CORE,
    f"{PACKAGE}.datasets": CORE,
    f"{PACKAGE}.duckdb_memory": CORE,  # the embedded DuckDB sessions' memory budget (quality gate, audiences)
    f"{PACKAGE}.identity": CORE,
    f"{PACKAGE}.storage": CORE,
    f"{PACKAGE}.customerio": CORE,
    f"{PACKAGE}.landing": CORE,
    f"{PACKAGE}.quality": CORE,
    f"{PACKAGE}.audiences": CORE,
    f"{PACKAGE}.sync": CORE,
    f"{PACKAGE}.destinations": CORE,
    f"{PACKAGE}.preflight": CORE,
    f"{PACKAGE}.reporting": CORE,
    f"{PACKAGE}.webhooks": CORE,  # a service of its own beside Airflow (python -m ...webhooks)
    # the Airflow adapter (some of its modules are Airflow-free, but exist for Airflow's sake)
    PACKAGE: ADAPTER,  # the package root and get_provider_info's metadata
    f"{PACKAGE}.hooks": ADAPTER,
    f"{PACKAGE}.operators": ADAPTER,
    f"{PACKAGE}.sensors": ADAPTER,
    f"{PACKAGE}.triggers": ADAPTER,
    f"{PACKAGE}.notifications": ADAPTER,
    f"{PACKAGE}.links": ADAPTER,
    f"{PACKAGE}.reports": ADAPTER,
    f"{PACKAGE}.assets": ADAPTER,
    f"{PACKAGE}.dag_config": ADAPTER,
    f"{PACKAGE}.dag_wiring": ADAPTER,
    f"{PACKAGE}.realtime_wiring": ADAPTER,
    f"{PACKAGE}.pipeline_state": ADAPTER,  # reads the DAG config
    f"{PACKAGE}.smoke": ADAPTER,
    # the dev kit
    "cio_devkit.emulators": DEVKIT,
    "cio_devkit.devstack": DEVKIT,
    "cio_devkit.demo": DEVKIT,
    "cio_devkit.standalone": DEVKIT,
    "cio_devkit.airflow_env": DEVKIT,
    "cio_devkit.app_api_pool": DEVKIT,
    "cio_devkit": DEVKIT,
}

# upstream first: a stage may import an earlier one, never a later one
STAGES = (
    f"{PACKAGE}.landing",
    f"{PACKAGE}.quality",
    f"{PACKAGE}.audiences",
    f"{PACKAGE}.sync",
    f"{PACKAGE}.destinations",
)

EMULATORS = ("cio_devkit.emulators", "cio_devkit.emulators")

# Known crossings, each with its reason; an entry that no longer matches anything fails the suite (stale).
ALLOWED: dict[tuple[str, str], str] = {
    (f"{PACKAGE}.reports.__main__", "cio_devkit.devstack"): (
        "the report CLI's --devstack option finds the local stack's config and Blob endpoint; imported only "
        "when the option is given"
    ),
}


def _owner(name: str, table: dict[str, str] | tuple[str, ...]) -> str | None:
    """The longest dotted prefix of ``name`` among ``table``'s keys."""
    best = None
    for prefix in table:
        if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def layer(name: str) -> str | None:
    owner = _owner(name, LAYER_OF)
    return LAYER_OF[owner] if owner is not None else None


def _ours(target: str) -> bool:
    top = target.split(".")[0]
    return top == PACKAGE or top == "cio_devkit"


def _allowed(imp: Import) -> bool:
    return any(
        (imp.module == source or imp.module.startswith(source + "."))
        and (imp.target == target or imp.target.startswith(target + "."))
        for source, target in ALLOWED
    )


def layer_violations(imports: list[Import]) -> list[str]:
    out = []
    for imp in imports:
        here = layer(imp.module)
        if here == CORE and (imp.target == "airflow" or imp.target.startswith("airflow.")):
            out.append(f"{imp.where}: {imp.module} (core) imports Airflow ({imp.target})")
            continue
        if not _ours(imp.target) or _allowed(imp):
            continue
        there = layer(imp.target)
        if here == CORE and there in (ADAPTER, DEVKIT):
            out.append(f"{imp.where}: {imp.module} (core) imports {imp.target} ({there})")
        elif here == ADAPTER and there == DEVKIT:
            out.append(f"{imp.where}: {imp.module} (adapter) imports {imp.target} (dev kit)")
    return out


def stage_violations(imports: list[Import]) -> list[str]:
    out = []
    for imp in imports:
        source, target = _owner(imp.module, STAGES), _owner(imp.target, STAGES)
        if source and target and STAGES.index(target) > STAGES.index(source):
            out.append(f"{imp.where}: {imp.module} imports the later stage {imp.target}")
    return out


def emulator_violations(imports: list[Import]) -> list[str]:
    out = []
    for imp in imports:
        own = _owner(imp.module, EMULATORS)
        if own and _ours(imp.target) and _owner(imp.target, EMULATORS) != own and imp.target != own:
            out.append(f"{imp.where}: emulator module {imp.module} imports {imp.target}")
    return out


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    found = list(all_imports())
    assert len(found) > 500, "the package moved: point tests/architecture/import_graph.py at it"
    return found


def test_every_module_is_placed_in_a_layer() -> None:
    unplaced = sorted(
        {
            module_name(path, directory.parent)
            for directory in package_dirs()
            for path in directory.rglob("*.py")
            if layer(module_name(path, directory.parent)) is None
        }
    )
    assert not unplaced, "place these in LAYER_OF (core, adapter or dev kit):\n" + "\n".join(unplaced)


def test_core_imports_neither_airflow_nor_the_adapter_nor_the_dev_kit_and_the_adapter_no_dev_kit(
    imports: list[Import],
) -> None:
    violations = layer_violations(imports)
    assert not violations, "imports against the one-way rule:\n" + "\n".join(violations)


def test_no_stage_imports_a_later_stage(imports: list[Import]) -> None:
    violations = stage_violations(imports)
    assert not violations, "landing -> quality -> audiences -> sync -> destinations:\n" + "\n".join(
        violations
    )


def test_no_emulator_module_imports_production_code(imports: list[Import]) -> None:
    assert any(_owner(imp.module, EMULATORS) for imp in imports), "no emulator module found"
    violations = emulator_violations(imports)
    assert not violations, "emulators must hold their own reading of the docs:\n" + "\n".join(violations)


def test_every_allowed_crossing_still_exists(imports: list[Import]) -> None:
    used = {(s, t) for (s, t) in ALLOWED if any(_allowed(i) and i.module.startswith(s) for i in imports)}
    assert used == set(ALLOWED), f"stale ALLOWED entries (remove them): {sorted(set(ALLOWED) - used)}"


def _probe(module: str, source: str) -> list[Import]:
    return [
        Import(module, target, f"probe.py:{line}") for line, target in imported_modules(source, module, False)
    ]


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
        ("from cio_devkit.emulators.http_server import EmulatorHTTPServer\n", False),
        ("from . import faults\nfrom ..http_server import EmulatorHTTPServer\n", False),
        ("import pyarrow as pa\n", False),
    ],
)
def test_the_emulator_check_catches_every_import_spelling(source: str, caught: bool) -> None:
    """The check itself: each spelling of a forbidden import is caught, the allowed ones pass."""
    imports = _probe("cio_devkit.emulators.customerio.probe", source)
    assert bool(emulator_violations(imports)) is caught


@pytest.mark.parametrize(
    ("module", "source", "caught"),
    [
        (f"{PACKAGE}.sync.runner", "def f():\n    from airflow.sdk import BaseOperator\n", True),
        (f"{PACKAGE}.landing.writer", "import airflow\n", True),
        (f"{PACKAGE}.landing.writer", "from airflow_provider_cio.operators import x\n", True),
        (f"{PACKAGE}.quality.gate", "from cio_devkit.devstack.stack import project_root\n", True),
        (f"{PACKAGE}.hooks.blob", "from cio_devkit.emulators.meta import server\n", True),
        (f"{PACKAGE}.operators.audiences", "from airflow.sdk import BaseOperator\n", False),
        (f"{PACKAGE}.operators.audiences", "from airflow_provider_cio.sync import run_sync\n", False),
        ("cio_devkit.devstack.stack", "from airflow_provider_cio.dag_config import load_dag_config\n", False),
        (f"{PACKAGE}.sync.runner", "from airflow_provider_cio.errors import ErrorClass\n", False),
    ],
)
def test_the_layer_check_catches_what_it_should(module: str, source: str, caught: bool) -> None:
    assert bool(layer_violations(_probe(module, source))) is caught


@pytest.mark.parametrize(
    ("module", "source", "caught"),
    [
        (f"{PACKAGE}.landing.writer", "from airflow_provider_cio.quality.gate import x\n", True),
        (
            f"{PACKAGE}.audiences.snapshot",
            "def f():\n    from airflow_provider_cio.sync.plan import x\n",
            True,
        ),
        (f"{PACKAGE}.sync.plan", "from ..destinations.meta import schema\n", True),
        (f"{PACKAGE}.sync.plan", "from airflow_provider_cio.audiences.member import Member\n", False),
        (f"{PACKAGE}.destinations.meta.schema", "from airflow_provider_cio.landing import layout\n", False),
    ],
)
def test_the_stage_check_catches_a_backward_import(module: str, source: str, caught: bool) -> None:
    assert bool(stage_violations(_probe(module, source))) is caught


def test_every_error_class_is_declared_with_the_enum() -> None:
    """``error_class = "platform"`` would still classify, but as a string nobody checks: use ``ErrorClass``."""
    import ast

    from import_graph import PACKAGE_DIR

    loose = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "emulators" in path.parts:
            continue
        classes = [
            n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.ClassDef)
        ]
        for node in (statement for klass in classes for statement in klass.body):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "error_class" for t in node.targets
            ):
                value = node.value
                enum_member = (
                    isinstance(value, ast.Attribute)
                    and isinstance(value.value, ast.Name)
                    and value.value.id == "ErrorClass"
                )
                if not enum_member:
                    loose.append(f"{path.relative_to(PACKAGE_DIR.parent)}:{node.lineno}")
    assert not loose, "declare error_class as an ErrorClass member:\n" + "\n".join(loose)
