"""The trigger form's overrides as one sync task sees them: which were used, by whom, and the audience subset."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_SEPARATORS = re.compile(r"[\s,]+")


def flag(value: bool | str | None) -> bool:
    """A boolean argument that may arrive as a rendered template (``"{{ params.dry_run }}"`` -> ``"True"``)."""
    if value is None:
        return False
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


def subset(value: str | Iterable[str] | None) -> frozenset[str]:
    """The audiences a run is limited to: a rendered ``"a,b"`` (or a list); empty means every audience."""
    if value is None:
        return frozenset()
    items = _SEPARATORS.split(value) if isinstance(value, str) else [str(v) for v in value]
    return frozenset(item.strip().strip("[]'\"") for item in items if item.strip().strip("[]'\""))


def triggered_by(context: Mapping[str, Any]) -> str:
    """Who triggered the run: the dag run's ``triggering_user_name`` (Airflow 3), else a ``triggered_by`` in the
    run's conf (an API caller naming itself), else the scheduler."""
    dag_run = context.get("dag_run")
    user = getattr(dag_run, "triggering_user_name", None)
    if not user:
        conf = getattr(dag_run, "conf", None) or {}
        user = conf.get("triggered_by") if isinstance(conf, Mapping) else None
    return str(user) if user else "the scheduler (no triggering user)"


def used(**overrides: Any) -> dict[str, Any]:
    """The overrides that are on (a true flag, a non-empty subset), in a stable order, for the log."""
    return {name: value for name, value in overrides.items() if value}


def describe(overrides: Mapping[str, Any], user: str) -> str:
    """One log line: ``run overrides allow_shrink=True, audiences=high_value by alice``."""
    parts = [
        f"{name}={','.join(sorted(value)) if isinstance(value, frozenset) else value}"
        for name, value in overrides.items()
    ]
    return f"run overrides {', '.join(parts)} by {user}"
