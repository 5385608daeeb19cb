"""Clickable runbook links: a configurable docs base URL instead of a repo path a browser cannot open.

The base is the ``[cio] docs_base_url`` Airflow setting (``AIRFLOW__CIO__DOCS_BASE_URL``), e.g. the docs folder of
the deployment's repository on its code host. Unset, it is the ``file://`` URL of this checkout's ``docs/`` folder
(clickable on the machine running Airflow), or the relative ``docs`` path when the package is installed without its
docs.
"""

from __future__ import annotations

from pathlib import Path

SETTING = ("cio", "docs_base_url")
ENV_VAR = "AIRFLOW__CIO__DOCS_BASE_URL"


def default_docs_base() -> str:
    """This checkout's ``docs/`` as a ``file://`` URL, else the relative ``docs``."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    return docs.as_uri() if (docs / "runbook.md").is_file() else "docs"


def docs_base_url() -> str:
    """The configured docs base URL (no trailing slash)."""
    import os

    value = os.environ.get(ENV_VAR, "")
    if not value:
        try:
            from airflow.configuration import conf

            value = conf.get(*SETTING, fallback="") or ""
        except ImportError:  # the Airflow-free core still gets a link
            value = ""
    return (value.strip() or default_docs_base()).rstrip("/")


def runbook_base() -> str:
    """The runbook page's URL, to which a section anchor (``#guard-max_shrink``) is appended."""
    return f"{docs_base_url()}/runbook.md"
