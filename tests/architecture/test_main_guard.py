"""A module run with ``python -m`` executes its ``if __name__ == "__main__":`` block where it stands: anything defined
below it does not exist yet when ``main()`` runs. ``make demo`` failed at its last step that way (a function added
after the guard), though every function worked when imported. So the guard is the last statement of every module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("airflow_provider_cio", "devkit/cio_devkit", "bench", "scripts")


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators)
    )


def statements_after_the_main_guard(source: str) -> list[int]:
    """Line numbers of top-level statements that follow the ``__main__`` guard."""
    body = ast.parse(source).body
    guards = [index for index, node in enumerate(body) if _is_main_guard(node)]
    return [node.lineno for node in body[guards[0] + 1 :]] if guards else []


def test_every_main_guard_is_the_last_statement_of_its_module() -> None:
    late = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = statements_after_the_main_guard(path.read_text(encoding="utf-8"))
            late += [f"{path.relative_to(ROOT)}:{line}" for line in lines]
    assert late == [], f"defined after the __main__ guard (missing when run with python -m): {late}"


@pytest.mark.parametrize(
    ("source", "late"),
    [
        ('def main():\n    return 0\n\n\nif __name__ == "__main__":\n    main()\n', []),
        ('if __name__ == "__main__":\n    main()\n\n\ndef main():\n    return 0\n', [5]),
        ("x = 1\n", []),
    ],
)
def test_the_check_finds_a_definition_after_the_guard(source: str, late: list[int]) -> None:
    assert statements_after_the_main_guard(source) == late
