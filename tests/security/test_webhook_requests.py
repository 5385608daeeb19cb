"""Bad requests to the webhook receiver (issue 20): forged, replayed, stale, oversized and malformed requests are
refused with the right status and counted by reason, none of them lands, and the receiver's log (DEBUG level) holds
no raw email, no body fragment and not the signing key. Hand-picked cases plus generated ones (Hypothesis) sent over
HTTP to the real entry point (``python -m airflow_provider_cio.webhooks``) landing in the devstack's Azurite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.landing.reader import list_partitions, read_table
from airflow_provider_cio.storage.azure import AzureObjectStore
from airflow_provider_cio.webhooks.signature import sign
from cio_devkit.devstack import Devstack
from cio_devkit.devstack.stack import blob_connection_string
from cio_devkit.emulators.customerio.webhooks import reporting_events
from cio_devkit.emulators.synthetic import generate_workspace

KEY = "security-webhook-key-8c2e4a"
MARKER = "BODY-MARKER-6f1d"  # put in every body: must never reach a log line


class Receiver:
    def __init__(
        self, url: str, process: subprocess.Popen[bytes], log: Path, store: AzureObjectStore
    ) -> None:
        self.url, self.process, self.log, self.store = url, process, log, store

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        """The status; 0 when the receiver closed the connection while the body was still being sent (it answers
        an oversized Content-Length at once, without reading the body)."""
        request = urllib.request.Request(
            self.url + "/webhooks/customerio", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except urllib.error.URLError as error:
            if isinstance(error.reason, (BrokenPipeError, ConnectionResetError)):
                return 0
            raise

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_status", timeout=10) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def receiver(devstack: Devstack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    from azure.storage.blob import BlobServiceClient

    tmp = tmp_path_factory.mktemp("webhook-security")
    port = int(devstack.read_state()["services"]["azurite"]["port"])
    container = f"sec{uuid.uuid4().hex[:12]}"
    service = BlobServiceClient.from_connection_string(blob_connection_string(port))
    store = AzureObjectStore(service.get_container_client(container))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = int(sock.getsockname()[1])
    url_file, log = tmp / "url", tmp / "receiver.log"
    env = {
        **os.environ,
        "CIO_WEBHOOK_SIGNING_KEY": KEY,
        "CIO_WEBHOOK_BLOB_CONNECTION_STRING": blob_connection_string(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_cio.webhooks", "--port", str(free), "--container", container,
         "--journal-dir", str(tmp / "journal"), "--env", "sec", "--workspace", "ws", "--flush-interval", "0.3",
         "--url-file", str(url_file), "--log-level", "debug"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not url_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert url_file.exists(), log.read_text()[-2000:]
    yield Receiver(url_file.read_text().strip(), process, log, store)
    process.terminate()
    process.wait(timeout=30)


def _signed(body: bytes, *, at: float | None = None, key: str = KEY) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {
        "Content-Type": "application/json",
        "X-CIO-Timestamp": stamp,
        "X-CIO-Signature": sign(key.encode(), stamp, body),
    }


def _events(n: int) -> list[dict[str, Any]]:
    workspace = generate_workspace(people=30, seed=21, start=date(2026, 10, 1), days=1)
    events = reporting_events(workspace)[:n]
    for event in events:
        event["data"]["note"] = MARKER
    return events


def test_bad_requests_are_refused_counted_and_never_logged(receiver: Receiver) -> None:
    good, other = (json.dumps(e).encode() for e in _events(2))
    emails = {
        json.loads(good)["data"]["identifiers"]["email"],
        json.loads(other)["data"]["identifiers"]["email"],
    }
    headers = _signed(good)
    assert receiver.post(good, headers) == 200
    cases = {
        "forged: another key": (other, _signed(other, key="not-the-signing-key")),
        "forged: no signature": (other, {"X-CIO-Timestamp": str(int(time.time()))}),
        "forged: the body changed": (other, {**_signed(good), "Content-Type": "application/json"}),
        "replayed: the same request again": (good, headers),
        "stale: ten minutes old": (other, _signed(other, at=time.time() - 600)),
        "stale: ten minutes ahead": (other, _signed(other, at=time.time() + 600)),
        "oversized: 2 MiB": (b"{" + b" " * (2 * 1024 * 1024) + b"}", _signed(b"{}")),
        "malformed: not JSON": (MARKER.encode(), _signed(MARKER.encode())),
        "malformed: no event_id": (b'{"metric":"sent","note":"' + MARKER.encode() + b'"}', {}),
        "malformed: timestamp header": (other, {**_signed(other), "X-CIO-Timestamp": "now"}),
    }
    expected = {"forged": 401, "replayed": 401, "stale": 401, "oversized": 413, "malformed": 400}
    for label, (body, case_headers) in cases.items():
        if label == "malformed: no event_id":
            case_headers = _signed(body)
        status = receiver.post(body, case_headers)
        kind = label.split(":")[0]
        assert status == expected[kind] or (kind == "oversized" and status == 0), label
    refused = receiver.status()["refused"]
    assert refused == {"forged": 3, "replayed": 1, "stale": 2, "oversized": 1, "malformed": 3}
    _assert_clean_log(receiver, emails)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
    stamp=st.one_of(st.none(), st.text(max_size=14), st.integers(-(10**12), 10**12).map(str)),
    signature=st.one_of(st.none(), st.text(max_size=70), st.binary(min_size=32, max_size=32).map(bytes.hex)),
)
def test_generated_unsigned_requests_never_pass(
    receiver: Receiver, body: bytes, stamp: str | None, signature: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if stamp is not None and stamp.isprintable() and stamp.isascii():
        headers["X-CIO-Timestamp"] = stamp
    if signature is not None and signature.isprintable() and signature.isascii():
        headers["X-CIO-Signature"] = signature
    assert receiver.post(body + MARKER.encode(), headers) in {400, 401}


def test_nothing_refused_was_landed(receiver: Receiver) -> None:
    deadline = time.monotonic() + 30
    landed: list[str] = []
    while time.monotonic() < deadline:
        refs = list_partitions(receiver.store, "landing", "sec", "ws", "webhook_events")
        landed = [
            i
            for ref in refs
            for i in read_table(receiver.store, ref, ["event_id"]).column("event_id").to_pylist()
        ]
        if landed:
            break
        time.sleep(0.1)
    assert landed == [_events(1)[0]["event_id"]]
    _assert_clean_log(receiver, set())


def _assert_clean_log(receiver: Receiver, emails: set[str]) -> None:
    text = receiver.log.read_text(errors="replace")
    assert "refused" in text  # the refusals are logged...
    assert MARKER not in text  # ...without any body
    assert KEY not in text
    assert not [e for e in emails if e in text]
