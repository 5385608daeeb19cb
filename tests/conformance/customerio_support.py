"""Calls to the Customer.io App API as its reference pages show them (a bearer key, JSON bodies), nothing of ours.

Customer.io publishes no Python SDK for the App API (the ``customerio`` package speaks the Track API only), so the
conformance tests use plain ``requests``, the way the pages' "Python + Requests" and curl samples do. Nothing here
imports ``airflow_provider_cio`` outside the emulators.
"""

from __future__ import annotations

import calendar
import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import requests

from cio_devkit.emulators.customerio import CustomerIoEmulator
from cio_devkit.emulators.customerio.rules import Readings
from cio_devkit.emulators.synthetic import SyntheticWorkspace, generate_workspace

KEY = "conformance-app-api-key"
READINGS = {
    "strict": Readings(months="30d", export_open_range="reject", multi_key_filter="reject"),
    "lenient": Readings(months="calendar", export_open_range="like_messages", multi_key_filter="and"),
}

LONG = {"people": 40, "days": 420}  # 2025-01-06 .. 2026-03-02: longer than the 12-month cap

_WORKSPACES: dict[tuple[int, int], SyntheticWorkspace] = {}


def workspace(people: int = 150, days: int = 10) -> SyntheticWorkspace:
    """A small deterministic workspace, built once per shape for the whole session."""
    key = (people, days)
    if key not in _WORKSPACES:
        _WORKSPACES[key] = generate_workspace(people=people, seed=3, start=date(2025, 1, 6), days=days)
    return _WORKSPACES[key]


@contextmanager
def running(ws: SyntheticWorkspace, **settings: Any) -> Iterator[CustomerIoEmulator]:
    options: dict[str, Any] = {"rate_limit": None, "pending_polls": 0}
    options.update(settings)
    emulator = CustomerIoEmulator(ws, KEY, **options).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def call(emulator: CustomerIoEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    """``curl --request METHOD --header 'Authorization: Bearer KEY' --url https://api.customer.io/v1/...``"""
    headers = {"Authorization": f"Bearer {KEY}", **kwargs.pop("headers", {})}
    return requests.request(method, emulator.url + path, headers=headers, timeout=10, **kwargs)


def finished(emulator: CustomerIoEmulator, export_id: int, *, polls: int = 200) -> dict[str, Any]:
    """Poll ``GET /v1/exports/{id}`` until it leaves ``pending`` (bounded by a number of polls, not a clock)."""
    for _ in range(polls):
        export = call(emulator, "GET", f"/v1/exports/{export_id}").json()["export"]
        if export["status"] != "pending":
            return dict(export)
        time.sleep(0.05)
    raise AssertionError(f"export {export_id} still pending after {polls} polls")


def download_rows(emulator: CustomerIoEmulator, export_id: int) -> list[dict[str, str]]:
    """``GET /v1/exports/{id}/download`` for the signed URL, then the URL itself (no bearer: it is the credential)."""
    url = call(emulator, "GET", f"/v1/exports/{export_id}/download").json()["url"]
    body = requests.get(url, timeout=10)
    body.raise_for_status()
    return list(csv.DictReader(io.StringIO(body.content.decode("utf-8"))))


def export_rows(emulator: CustomerIoEmulator, path: str, body: dict[str, Any]) -> list[dict[str, str]]:
    created = call(emulator, "POST", path, json=body)
    assert created.status_code == 200, created.text
    export_id = created.json()["export"]["id"]
    assert finished(emulator, export_id)["status"] == "done"
    return download_rows(emulator, export_id)


def unix(text: str) -> int:
    """The export CSV's time (ISO ``...Z`` or unix seconds) as unix seconds."""
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def months_before(moment: datetime, months: int, reading: str) -> datetime:
    """The test's own month arithmetic (not the emulator's), under a named reading of ``READINGS``."""
    if READINGS[reading].months == "30d":
        return moment - timedelta(days=30 * months)
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)
