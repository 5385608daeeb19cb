"""The receiver over HTTP (Starlette's test client, real journal on disk, in-memory landing store): signed events
are acknowledged and land once per hour partition; every kind of bad request is refused, counted and not logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_table
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.webhooks.app import create_app
from airflow_provider_cio.webhooks.settings import ReceiverSettings
from airflow_provider_cio.webhooks.signature import sign

KEY = b"whsec-unit-test-key"
NOW = 1_765_000_000.0  # 2025-12-06T05:46:40Z
HOUR = PartitionRef(
    "landing",
    "test",
    "ws",
    "webhook_events",
    PartitionRef.parse("landing/test/ws/webhook_events/dt=2025-12-06/hr=05").dt,
    5,
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _event(event_id: str, email: str = "grace@example.com") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "object_type": "email",
        "metric": "delivered",
        "timestamp": int(NOW) - 5,
        "data": {
            "delivery_id": f"d-{event_id}",
            "identifiers": {"id": "cust-1", "email": email, "cio_id": "c1"},
            "recipient": email,
        },
    }


def _signed(body: bytes, ts: float = NOW, key: bytes = KEY) -> dict[str, str]:
    stamp = str(int(ts))
    return {
        "X-CIO-Timestamp": stamp,
        "X-CIO-Signature": sign(key, stamp, body),
        "Content-Type": "application/json",
    }


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(tmp_path: Path, store: MemoryObjectStore, clock: Clock) -> Iterator[TestClient]:
    settings = ReceiverSettings(
        signing_key=KEY,
        journal_dir=tmp_path / "journal",
        env="test",
        workspace="ws",
        flush_interval=3600,
        max_body_bytes=4096,
    )
    with TestClient(create_app(settings, store, clock=clock)) as test_client:
        yield test_client


def _flush(client: TestClient) -> list[str]:
    return client.app.state.receiver.flusher.flush_once()  # type: ignore[attr-defined, no-any-return]


def test_signed_events_are_acknowledged_and_land_once(client: TestClient, store: MemoryObjectStore) -> None:
    for i in range(5):
        body = json.dumps(_event(f"e{i}")).encode()
        answer = client.post("/webhooks/customerio", content=body, headers=_signed(body, NOW + i))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"accepted": 1, "duplicates": 0}
    again = json.dumps(
        _event("e2")
    ).encode()  # Customer.io re-sends an event whose ack it lost (new signature)
    answer = client.post("/webhooks/customerio", content=again, headers=_signed(again, NOW + 30))
    assert answer.json() == {"accepted": 0, "duplicates": 1}
    assert _flush(client) == ["2025-12-06T05"]
    table = read_table(store, HOUR)
    assert sorted(table.column("event_id").to_pylist()) == [f"e{i}" for i in range(5)]
    assert "grace@" not in json.dumps(table.to_pylist(), default=str)
    body = json.dumps(_event("e5")).encode()
    client.post("/webhooks/customerio", content=body, headers=_signed(body, NOW + 40))
    assert _flush(client) == ["2025-12-06T05"]
    assert read_table(store, HOUR).num_rows == 6
    assert _flush(client) == []  # nothing new: no new generation
    status = client.get("/_status").json()
    assert (status["accepted"], status["duplicates"], status["flush"]["landed_events"]) == (6, 1, 6)


def test_every_bad_request_is_refused_and_counted_without_its_body_in_the_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps(_event("x1", email="leaky@example.com")).encode()
    url = "/webhooks/customerio"
    assert client.post(url, content=body, headers=_signed(body, key=b"not-the-key-123")).status_code == 401
    assert client.post(url, content=body, headers={"X-CIO-Timestamp": str(int(NOW))}).status_code == 401
    assert client.post(url, content=body, headers=_signed(body, NOW - 3600)).status_code == 401
    headers = _signed(body, NOW)
    assert client.post(url, content=body, headers=headers).status_code == 200
    assert client.post(url, content=body, headers=headers).status_code == 401  # the same signed request again
    big = json.dumps({**_event("x2"), "pad": "leaky@example.com " * 400}).encode()
    assert client.post(url, content=big, headers=_signed(big)).status_code == 413
    chunked = client.post(url, content=iter([big[:3000], big[3000:]]), headers=_signed(big))
    assert chunked.status_code == 413  # no Content-Length: counted while read
    junk = b'{"metric": "sent", "note": "leaky@example.com"}'
    assert client.post(url, content=junk, headers=_signed(junk)).status_code == 400
    stamp = client.post(url, content=body, headers={**_signed(body), "X-CIO-Timestamp": "soon"})
    assert stamp.status_code == 400
    refused = client.get("/_status").json()["refused"]
    assert refused == {"forged": 2, "replayed": 1, "stale": 1, "oversized": 2, "malformed": 2}
    logged = caplog.text
    assert "leaky@" not in logged and KEY.decode() not in logged
    assert "forged" in logged and "oversized" in logged


def test_a_restart_keeps_the_dedupe_and_lands_what_was_acknowledged(
    tmp_path: Path, store: MemoryObjectStore, clock: Clock
) -> None:
    settings = ReceiverSettings(
        signing_key=KEY, journal_dir=tmp_path / "j", env="test", workspace="ws", flush_interval=3600
    )
    with TestClient(create_app(settings, store, clock=clock)) as first:
        body = json.dumps([_event("r1"), _event("r2")]).encode()
        assert first.post("/webhooks/customerio", content=body, headers=_signed(body)).json()["accepted"] == 2
        first.app.state.receiver.flusher._stop.set()  # type: ignore[attr-defined]
    # the clean shutdown landed them; a new process on the same journal knows the ids
    assert read_table(store, HOUR).num_rows == 2
    with TestClient(create_app(settings, store, clock=clock)) as second:
        body = json.dumps([_event("r2"), _event("r3")]).encode()
        answer = second.post("/webhooks/customerio", content=body, headers=_signed(body, NOW + 1))
        assert answer.json() == {"accepted": 1, "duplicates": 1}
        _flush(second)
    assert sorted(read_table(store, HOUR).column("event_id").to_pylist()) == ["r1", "r2", "r3"]
