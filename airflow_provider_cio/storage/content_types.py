"""The MIME type a report blob is stored with, by its name's suffix: a browser renders ``text/html`` and
``image/png`` but downloads the service's default ``application/octet-stream``."""

from __future__ import annotations

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


def content_type(path: str) -> str | None:
    """The type for ``path`` (None: leave the service's default; Parquet and the rest are never opened in a tab)."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return CONTENT_TYPES.get(name[dot:].lower()) if dot >= 0 else None
