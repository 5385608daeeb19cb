"""One reading of a Customer.io export's status, shared by the client's wait, the landing loop and the trigger.

Customer.io answers ``GET /v1/exports/{id}`` with ``{"export": {..., "status": "pending" | "done" | "failed",
"failed": bool, ...}}`` (App API reference, Exports); anything but done or failed is still running. ``ExportWait``
is how a wait for several exports ended (the trigger's event, read by the operator's ``execute_complete``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class ExportStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


def export_status(export: Mapping[str, Any]) -> ExportStatus:
    """The status of one export as ``GET /v1/exports/{id}`` describes it (a ``failed: true`` flag counts as
    failed whatever the status says; an unknown or missing status is still pending)."""
    status = str(export.get("status", "")).lower()
    if status == ExportStatus.FAILED or export.get("failed") is True:
        return ExportStatus.FAILED
    if status == ExportStatus.DONE:
        return ExportStatus.DONE
    return ExportStatus.PENDING


class ExportWait(StrEnum):
    """How a wait for a set of exports ended: every one done, one failed, out of time, or the wait itself broke."""

    DONE = "done"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"
