"""Reporting Webhook bodies -> webhook_events rows: every input is rows in the landed schema or MalformedEvent,
and the email / recipient / content never survive."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.webhooks.events import MalformedEvent, parse_events

RECEIVED = 1_765_000_000_000_000
DATA_FIELDS = [
    "action_id",
    "campaign_id",
    "delivery_id",
    "identifiers",
    "recipient",
    "content",
    "href",
    "link_id",
]

CLICKED = {
    "event_id": "01HXYZCLICK",
    "object_type": "email",
    "metric": "clicked",
    "timestamp": 1764999990,
    "data": {
        "action_id": 42,
        "campaign_id": "7",
        "delivery_id": "RPILAgABcRhIBqSp7kiPekGBIeVh",
        "identifiers": {"id": "cust-000123", "email": "ada@example.com", "cio_id": "a1b2c3"},
        "recipient": "ada@example.com",
        "subject": "Your cart misses you",
        "content": "<html>Hello Ada</html>",
        "href": "https://shop.example/cart",
        "link_id": 3,
    },
}


def test_a_clicked_event_lands_without_personal_data() -> None:
    [row] = parse_events(json.dumps(CLICKED).encode(), received_at_us=RECEIVED)
    assert row["event_id"] == "01HXYZCLICK"
    assert (row["customer_id"], row["cio_id"], row["campaign_id"], row["action_id"]) == (
        "cust-000123",
        "a1b2c3",
        7,
        42,
    )
    assert row["timestamp"] == 1764999990 * 1_000_000 and row["received_at"] == RECEIVED
    assert row["link_url"] == "https://shop.example/cart"
    assert "ada@" not in json.dumps(row) and "Hello" not in json.dumps(row)
    table = pa.Table.from_pylist([row], schema=arrow_schema("webhook_events"))
    assert table.num_rows == 1


def test_an_array_body_and_the_older_customer_id() -> None:
    second = {**CLICKED, "event_id": "e2", "data": {"customer_id": "cust-9"}}
    rows = parse_events(json.dumps([CLICKED, second]).encode(), received_at_us=RECEIVED)
    assert [r["customer_id"] for r in rows] == ["cust-000123", "cust-9"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"42",
        b'{"object_type":"email","metric":"sent","timestamp":1}',
        b'{"event_id":"e","object_type":"email","metric":"sent"}',
        b'{"event_id":"e","object_type":"email","metric":"sent","timestamp":"yesterday"}',
        b'{"event_id":"e","object_type":"email","metric":"sent","timestamp":1,"data":[1]}',
        b'{"event_id":"e","object_type":"email","metric":"sent","timestamp":1e300}',
        b"[" * 100_000,
    ],
)
def test_malformed_bodies_are_refused_by_name(body: bytes) -> None:
    with pytest.raises(MalformedEvent) as info:
        parse_events(body, received_at_us=RECEIVED)
    assert "ada" not in str(info.value)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
_field = st.one_of(_json, st.text(max_size=40), st.integers(-(2**70), 2**70))


@st.composite
def _near_events(draw: Any) -> Any:
    """Mostly-right events with any field replaced by anything."""
    event: dict[str, Any] = json.loads(json.dumps(CLICKED))
    for name in draw(st.lists(st.sampled_from(["event_id", "object_type", "metric", "timestamp", "data"]))):
        event[name] = draw(_field)
    data = event.get("data")
    if isinstance(data, dict):
        for name in draw(st.lists(st.sampled_from(DATA_FIELDS))):
            data[name] = draw(_field)
    return draw(st.sampled_from([event, [event], [event, event]]))


@settings(max_examples=300, deadline=None)
@given(payload=st.one_of(_near_events(), _json))
def test_any_json_is_rows_in_the_schema_or_malformed(payload: Any) -> None:
    body = json.dumps(payload).encode()
    try:
        rows = parse_events(body, received_at_us=RECEIVED)
    except MalformedEvent:
        return
    table = pa.Table.from_pylist(rows, schema=arrow_schema("webhook_events"))
    assert table.num_rows == len(rows) >= 1
    assert all(r["event_id"] and r["metric"] and r["object_type"] for r in rows)
    assert "ada@example.com" not in json.dumps(rows)


@given(body=st.binary(max_size=256))
def test_random_bytes_never_raise_anything_else(body: bytes) -> None:
    try:
        rows = parse_events(body, received_at_us=RECEIVED)
    except MalformedEvent:
        return
    assert pa.Table.from_pylist(rows, schema=arrow_schema("webhook_events")).num_rows == len(rows)
