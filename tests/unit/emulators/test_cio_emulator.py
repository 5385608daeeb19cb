"""The Customer.io emulator speaks the App API wire format, enforces its limits and injects faults on demand."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from cio_devkit.emulators.customerio import CustomerIoEmulator
from cio_devkit.emulators.synthetic import SyntheticWorkspace, generate_workspace

KEY = "sk-emulator-test-key"


@pytest.fixture(scope="module")
def workspace() -> SyntheticWorkspace:
    return generate_workspace(people=200, seed=5, start=date(2024, 3, 1), days=7)


@pytest.fixture
def emulator(workspace: SyntheticWorkspace) -> Iterator[CustomerIoEmulator]:
    emu = CustomerIoEmulator(workspace, KEY, rate_limit=None, pending_polls=2).start()
    try:
        yield emu
    finally:
        emu.stop()


def call(
    emu: CustomerIoEmulator, method: str, path: str, key: str | None = KEY, **kwargs: object
) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.request(method, emu.url + path, headers=headers, timeout=5, **kwargs)  # type: ignore[arg-type]


def test_bad_or_missing_key_is_401_with_errors_body(emulator: CustomerIoEmulator) -> None:
    for key in ("wrong", None):
        response = call(emulator, "GET", "/v1/segments", key=key)
        assert response.status_code == 401
        assert response.json()["errors"][0]["status"] == "401"
    recorded = emulator.requests
    assert [r.status for r in recorded] == [401, 401]
    assert all(KEY not in repr(r) and "wrong" not in repr(r) for r in recorded)


def test_deliveries_export_validates_exactly_one_parent(emulator: CustomerIoEmulator) -> None:
    assert call(emulator, "POST", "/v1/exports/deliveries", json={}).status_code == 400
    both = call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2, "newsletter_id": 101})
    assert both.status_code == 400 and "exactly one" in both.json()["errors"][0]["detail"]
    assert call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2}).status_code == 200


def test_export_lifecycle_pending_then_done_then_signed_csv(emulator: CustomerIoEmulator) -> None:
    export = call(emulator, "POST", "/v1/exports/deliveries", json={"action_id": 21}).json()["export"]
    assert call(emulator, "GET", f"/v1/exports/{export['id']}/download").status_code == 400  # not done yet
    polled = [call(emulator, "GET", f"/v1/exports/{export['id']}").json()["export"] for _ in range(3)]
    assert [e["status"] for e in polled] == ["pending", "pending", "done"]
    assert export["total"] == polled[0]["total"] == 0 < polled[2]["total"]  # "Exports report 0 until done"
    export = polled[2]

    url = call(emulator, "GET", f"/v1/exports/{export['id']}/download").json()["url"]
    assert "X-Amz-Signature=" in url
    body = requests.get(url, timeout=5)  # no bearer token: the URL itself is the credential
    assert body.status_code == 200 and body.headers["Content-Type"] == "text/csv"
    assert body.content.count(b"\n") == export["total"] + 1
    assert requests.get(url.split("?")[0], timeout=5).status_code == 403
    listing = call(emulator, "GET", "/v1/exports").json()["exports"]
    assert listing[0]["downloads"] == 1


def test_signed_urls_expire(workspace: SyntheticWorkspace) -> None:
    with CustomerIoEmulator(workspace, KEY, rate_limit=None, pending_polls=0, url_ttl=0.0) as emu:
        export = call(emu, "POST", "/v1/exports/deliveries", json={"action_id": 21}).json()["export"]
        url = call(emu, "GET", f"/v1/exports/{export['id']}/download").json()["url"]
        time.sleep(0.01)
        response = requests.get(url, timeout=5)
    assert response.status_code == 403 and b"expired" in response.content


def test_gzip_downloads(workspace: SyntheticWorkspace) -> None:
    with CustomerIoEmulator(workspace, KEY, rate_limit=None, pending_polls=0, gzip_downloads=True) as emu:
        export = call(emu, "POST", "/v1/exports/deliveries", json={"campaign_id": 2}).json()["export"]
        url = call(emu, "GET", f"/v1/exports/{export['id']}/download").json()["url"]
        raw = requests.get(url, timeout=5, stream=True).raw.read(decode_content=False)
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw).startswith(b"id,customer_id,cio_id")


def test_rate_limit_answers_429_with_retry_after(workspace: SyntheticWorkspace) -> None:
    with CustomerIoEmulator(workspace, KEY, rate_limit=0.001, rate_burst=3) as emu:
        responses = [call(emu, "GET", "/v1/segments") for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert responses[3].headers["Retry-After"] == "1"
    assert responses[3].json() == {
        "errors": [{"detail": "Too many requests: rate limit exceeded", "status": "429"}]
    }


def test_messages_pagination_and_limits(emulator: CustomerIoEmulator, workspace: SyntheticWorkspace) -> None:
    assert call(emulator, "GET", "/v1/messages", params={"limit": 1001}).status_code == 400
    assert call(emulator, "GET", "/v1/messages", params={"start": "not-a-cursor"}).status_code == 400
    seen: list[str] = []
    cursor = ""
    while True:
        params = {"limit": 1000, **({"start": cursor} if cursor else {})}
        page = call(emulator, "GET", "/v1/messages", params=params).json()
        seen.extend(m["id"] for m in page["messages"])
        cursor = page["next"]
        if not cursor:
            break
    assert seen == workspace.deliveries["delivery_id"].to_pylist()


def test_faults_through_the_admin_endpoint(emulator: CustomerIoEmulator) -> None:
    armed = requests.post(
        emulator.url + "/_admin/faults", json={"kind": "server_error", "count": 2, "status": 502}, timeout=5
    )
    assert armed.status_code == 200
    assert requests.post(emulator.url + "/_admin/faults", json={"kind": "nope"}, timeout=5).status_code == 400
    codes = [call(emulator, "GET", "/v1/campaigns").status_code for _ in range(3)]
    assert codes == [502, 502, 200]
    logged = requests.get(emulator.url + "/_admin/requests", timeout=5).json()["requests"]
    assert [r["status"] for r in logged] == [502, 502, 200]


def test_malformed_rows_fault_breaks_the_next_export_only(emulator: CustomerIoEmulator) -> None:
    emulator.faults.malformed_rows(4)
    emulator.pending_polls = 0
    first = call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2}).json()["export"]
    second = call(emulator, "POST", "/v1/exports/deliveries", json={"campaign_id": 2}).json()["export"]
    bodies = []
    for export in (first, second):
        url = call(emulator, "GET", f"/v1/exports/{export['id']}/download").json()["url"]
        bodies.append(requests.get(url, timeout=5).content)
    assert bodies[0].count(b'"malformed-row"') == 4
    assert bodies[0].count(b"\n") == bodies[1].count(b"\n") + 4


def test_customers_export_filters(emulator: CustomerIoEmulator, workspace: SyntheticWorkspace) -> None:
    emulator.pending_polls = 0
    bad = call(emulator, "POST", "/v1/exports/customers", json={"filters": {"segment": {"id": 99}}})
    assert bad.status_code == 400
    spec = {
        "filters": {"attribute": {"field": "country", "operator": "eq", "value": "DE"}},
        "attributes": ["phone"],
    }
    export = call(emulator, "POST", "/v1/exports/customers", json=spec).json()["export"]
    url = call(emulator, "GET", f"/v1/exports/{export['id']}/download").json()["url"]
    lines = requests.get(url, timeout=5).content.decode().splitlines()
    assert lines[0] == "id,email,cio_id,phone"
    assert len(lines) - 1 == workspace.people["country"].to_pylist().count("DE") == export["total"]


def test_cli_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    url_file = tmp_path / "url"
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_devkit.emulators.customerio", "--port", "0", "--api-key", KEY,
         "--people", "50", "--days", "3", "--url-file", str(url_file), "--multi-key-filter", "reject",
         "--unknown-fields"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        line = process.stdout.readline().decode() if process.stdout else ""  # blocks until it printed its URL
        assert "Customer.io emulator on http://127.0.0.1:" in line
        url = url_file.read_text().strip()
        response = requests.get(url + "/v1/workspaces", headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
        assert response.json()["workspaces"][0]["people"] == 50
        assert "field_added_later" in response.json()  # --unknown-fields
        two_keys = {
            "filters": {"and": [{"segment": {"id": 1}, "attribute": {"field": "id", "operator": "exists"}}]}
        }
        refused = requests.post(
            url + "/v1/exports/customers",
            json=two_keys,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=5,
        )
        assert refused.status_code == 400  # --multi-key-filter reject
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
