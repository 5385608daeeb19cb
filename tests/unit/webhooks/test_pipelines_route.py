"""The Data Pipelines route: X-Signature (hex HMAC-SHA1 of the body) checked, calls landed as webhook_events rows
without their properties or traits; forged and malformed calls refused and counted; the route is off without a
secret. The parser is also fed generated bodies: it either returns rows of the schema or raises MalformedEvent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_table
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.webhooks import pipelines
from airflow_provider_cio.webhooks.app import create_app
from airflow_provider_cio.webhooks.events import MalformedEvent
from airflow_provider_cio.webhooks.settings import ReceiverSettings

KEY = b"whsec-unit-test-key"
SECRET = b"pipelines-shared-secret"
NOW = 1_765_000_000.0  # 2025-12-06T05:46:40Z
URL = "/webhooks/customerio/pipelines"
HOUR = PartitionRef(
    "landing",
    "test",
    "ws",
    "webhook_events",
    PartitionRef.parse("landing/test/ws/webhook_events/dt=2025-12-06/hr=05").dt,
    5,
)


def _track(message_id: str, event: str = "added_to_cart", user: str = "cust-1") -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "userId": user,
        "messageId": message_id,
        "timestamp": "2025-12-06T05:46:00.250Z",
        "properties": {"email": "grace@example.com", "total": 129.5},
        "context": {"traits": {"phone": "+15555550100"}},
    }


def _client(tmp_path: Path, store: MemoryObjectStore, secret: bytes) -> TestClient:
    settings_ = ReceiverSettings(
        signing_key=KEY,
        journal_dir=tmp_path / "journal",
        env="test",
        workspace="ws",
        flush_interval=3600,
        pipelines_secret=secret,
    )
    return TestClient(create_app(settings_, store, clock=lambda: NOW))


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def client(tmp_path: Path, store: MemoryObjectStore) -> Iterator[TestClient]:
    with _client(tmp_path, store, SECRET) as test_client:
        yield test_client


def _post(client: TestClient, payload: Any, secret: bytes = SECRET) -> Any:
    body = json.dumps(payload).encode()
    return client.post(URL, content=body, headers={"X-Signature": pipelines.sign(secret, body)})


def test_signed_calls_land_once_without_their_properties(
    client: TestClient, store: MemoryObjectStore
) -> None:
    assert _post(client, _track("m1")).json() == {"accepted": 1, "duplicates": 0}
    batch = {"batch": [_track("m2", "order_completed", "cust-2"), {**_track("m3"), "type": "identify"}]}
    assert _post(client, batch).json() == {"accepted": 2, "duplicates": 0}
    assert _post(client, [_track("m1")]).json() == {"accepted": 0, "duplicates": 1}  # a replay repeats a call
    client.app.state.receiver.flusher.flush_once()  # type: ignore[attr-defined]
    rows = {r["event_id"]: r for r in read_table(store, HOUR).to_pylist()}
    assert sorted(rows) == ["m1", "m2", "m3"]
    assert (rows["m1"]["object_type"], rows["m1"]["metric"], rows["m1"]["customer_id"]) == (
        "track",
        "added_to_cart",
        "cust-1",
    )
    assert rows["m2"]["metric"] == "order_completed"
    assert rows["m3"]["metric"] == "identify"
    assert rows["m1"]["timestamp"].isoformat() == "2025-12-06T05:46:00.250000+00:00"
    text = json.dumps(list(rows.values()), default=str)
    assert "grace@" not in text and "5555550100" not in text and "129.5" not in text


def test_forged_and_malformed_calls_are_refused_and_counted(client: TestClient) -> None:
    assert _post(client, _track("f1"), secret=b"another-secret-1").status_code == 401
    body = json.dumps(_track("f2")).encode()
    assert client.post(URL, content=body).status_code == 401  # unsigned
    assert (
        _post(client, {"type": "track", "messageId": "f3", "timestamp": "2025-12-06T05:00:00Z"}).status_code
        == 400
    )
    assert _post(client, {**_track("f4"), "timestamp": "yesterday"}).status_code == 400
    refused = client.get("/_status").json()["refused"]
    assert (refused["forged"], refused["malformed"]) == (2, 2)


def test_the_route_is_off_without_a_secret(tmp_path: Path, store: MemoryObjectStore) -> None:
    with _client(tmp_path, store, b"") as client:
        body = json.dumps(_track("n1")).encode()
        answer = client.post(URL, content=body, headers={"X-Signature": pipelines.sign(b"", body)})
        assert answer.status_code in (404, 405)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_call = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["track", "identify", "page", ""]) | _json,
        "event": st.text(max_size=20) | _json,
        "userId": st.text(max_size=20) | st.integers() | _json,
        "messageId": st.text(max_size=20) | _json,
        "timestamp": st.datetimes().map(lambda d: d.isoformat()) | st.text(max_size=30) | _json,
        "properties": _json,
    },
)


@settings(max_examples=200, deadline=None)
@given(payload=st.one_of(_call, st.lists(_call, max_size=3), _json))
def test_generated_bodies_give_schema_rows_or_malformed(payload: Any) -> None:
    body = json.dumps(payload).encode()
    try:
        rows = pipelines.parse_calls(body, received_at_us=int(NOW * 1_000_000))
    except MalformedEvent:
        return
    table = pa.Table.from_pylist(rows, schema=arrow_schema("webhook_events"))
    assert table.num_rows == len(rows) >= 1
    assert all(r["event_id"] and r["object_type"] and r["metric"] for r in rows)
