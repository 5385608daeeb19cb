"""Unit tests mirror the tree: a test of the Airflow adapter sits under ``tests/unit/<adapter package>/``.

The adapter packages are ``operators``, ``hooks``, ``triggers``, ``sensors``, ``notifications``, ``links`` and
``reports``. A unit test module that imports any of them (wherever the import sits) lives in the folder of one of
the packages it imports, and a folder named after an adapter package holds only tests of that package, so someone
looking for an operator's tests finds them under ``tests/unit/operators/``. A few tests are about a core or
package-root module and only drive it through the adapter: they stay with their subject, each named below with why.
Nothing but ``conftest.py`` and shared ``*_support.py`` modules sits at ``tests/unit/`` itself.
"""

from __future__ import annotations

from pathlib import Path

from import_graph import PACKAGE, imported_modules

ADAPTER_PACKAGES = ("operators", "hooks", "triggers", "sensors", "notifications", "links", "reports")
UNIT = Path(__file__).resolve().parents[1] / "unit"

# test module (relative to tests/unit) -> why it stays with its subject although it imports the adapter
BY_SUBJECT: dict[str, str] = {
    "landing/test_concurrent_commit_gate.py": "concurrent landing commits; the gate operator is one of the writers",
    "preflight/test_preflight.py": "the preflight findings (core), read through the hooks and the sync operator",
    "webhooks/test_realtime_inputs.py": "micro-batches to audience inputs; the trigger watching them is one case",
    "root_modules/test_dag_config.py": "dag_config (package root) checks values against the sync operator's",
    "root_modules/test_errors.py": "errors (package root): the triage reads its ErrorClass",
}


def adapter_packages(path: Path) -> set[str]:
    """The adapter packages a test module imports (``from airflow_provider_cio.operators.x import y``: operators)."""
    found = set()
    for _, target in imported_modules(path.read_text(), "tests." + path.stem, is_package=False):
        parts = target.split(".")
        if parts[0] == PACKAGE and len(parts) > 1 and parts[1] in ADAPTER_PACKAGES:
            found.add(parts[1])
    return found


def unit_tests() -> list[Path]:
    return sorted(UNIT.rglob("test_*.py"))


def test_nothing_but_conftest_and_support_modules_at_the_unit_root() -> None:
    strays = [
        p.name for p in UNIT.glob("*.py") if p.name != "conftest.py" and not p.name.endswith("_support.py")
    ]
    assert not strays, f"move these into the folder of the package they test: {strays}"


def test_a_test_of_the_adapter_sits_under_an_adapter_package_it_imports() -> None:
    misplaced = []
    for path in unit_tests():
        relative = path.relative_to(UNIT).as_posix()
        imported = adapter_packages(path)
        if imported and relative not in BY_SUBJECT and path.relative_to(UNIT).parts[0] not in imported:
            misplaced.append(f"{relative} (imports {', '.join(sorted(imported))})")
    assert not misplaced, "move each under tests/unit/<one of the packages it imports>/:\n" + "\n".join(
        misplaced
    )


def test_an_adapter_folder_holds_only_tests_of_its_package() -> None:
    strays = []
    for package in ADAPTER_PACKAGES:
        for path in sorted((UNIT / package).rglob("test_*.py")):
            if package not in adapter_packages(path):
                strays.append(path.relative_to(UNIT).as_posix())
    assert not strays, f"these test no {PACKAGE} adapter module of their folder's package: {strays}"


def test_every_exception_still_exists_and_still_imports_the_adapter() -> None:
    stale = [name for name in BY_SUBJECT if not (UNIT / name).is_file() or not adapter_packages(UNIT / name)]
    assert not stale, f"drop these from BY_SUBJECT: {stale}"


def test_the_check_sees_function_level_imports(tmp_path: Path) -> None:
    module = tmp_path / "test_x.py"
    module.write_text(f"def test_y():\n    from {PACKAGE}.operators.audience_sync import platform_of\n")
    assert adapter_packages(module) == {"operators"}
    module.write_text(f"from {PACKAGE}.sync import run_sync\nimport {PACKAGE}.hooks\n")
    assert adapter_packages(module) == {"hooks"}
