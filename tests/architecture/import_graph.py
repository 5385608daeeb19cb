"""The provider's import graph, read from the source (AST): what every module imports, wherever the import sits.

Function-level imports, ``TYPE_CHECKING`` blocks, relative imports and ``importlib.import_module("...")`` calls with
a literal name all count: the house rule is to import heavy things inside functions, so a graph of module-level
imports alone would miss most of them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import airflow_provider_cio

PACKAGE = airflow_provider_cio.__name__
PACKAGE_DIR = Path(airflow_provider_cio.__file__).resolve().parent
# the dev kit's own distribution, when the tree has one (the provider's wheel does not contain it)
DEVKIT_PACKAGES = ("cio_devkit",)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module (or ``package.name`` for ``from package import name``), absolute
    where: str  # file:line, for messages


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
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
            top = target.split(".")[0]
            if "." not in target and (top == PACKAGE or top in DEVKIT_PACKAGES):
                # ``from airflow_provider_cio import datasets``: judged by the names taken
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


def package_dirs() -> list[Path]:
    """The provider package and, when installed or present in the tree, the dev kit's packages."""
    dirs = [PACKAGE_DIR]
    for name in DEVKIT_PACKAGES:
        try:
            package = __import__(name)
        except ImportError:
            continue
        if package.__file__ is not None:
            dirs.append(Path(package.__file__).resolve().parent)
    return dirs


def all_imports() -> Iterator[Import]:
    for directory in package_dirs():
        root = directory.parent
        for path in sorted(directory.rglob("*.py")):
            module = module_name(path, root)
            source = path.read_text(encoding="utf-8")
            for line, target in imported_modules(source, module, path.name == "__init__.py"):
                yield Import(module, target, f"{path.relative_to(root)}:{line}")
