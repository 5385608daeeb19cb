"""Our Customer.io client and landing calls under each reading the emulator can take of what the docs leave open.

The other conformance files drive the documented API with plain HTTP; this one drives *our* code, so that a reading
we could not confirm (docs/platform-semantics.md) cannot hide a fault: our calls must work under every reading.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from airflow_provider_cio.customerio.client import CustomerIoClient
from airflow_provider_cio.customerio.retry import RetryPolicy
from airflow_provider_cio.landing.app_api import EVERYONE
from cio_devkit.emulators.customerio import CustomerIoEmulator
from cio_devkit.emulators.synthetic import segment_mask

from .customerio_support import KEY, READINGS, download_rows, months_before, running, workspace


@pytest.fixture(params=sorted(READINGS))
def reading(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _client(emulator: CustomerIoEmulator) -> CustomerIoClient:
    return CustomerIoClient(
        KEY,
        base_url=emulator.url,
        rate_limit=1000.0,
        timeout=5.0,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01, max_total_wait=1.0),
        sleep=lambda _s: None,
    )


def test_our_people_export_filter_is_accepted_under_every_reading(reading: str) -> None:
    """The landing's ``EVERYONE`` filter and a segment filter are one-property objects: no reading refuses them."""
    ws = workspace()
    with running(ws, readings=READINGS[reading]) as emulator:
        client = _client(emulator)
        everyone = client.create_customers_export(EVERYONE, ["email"])
        segment = client.create_customers_export({"segment": {"id": 2}}, ["email"])
        client.wait_for_export(everyone["id"], poll_interval=0.01, timeout=10)
        client.wait_for_export(segment["id"], poll_interval=0.01, timeout=10)
        rows = download_rows(emulator, everyone["id"])
        client.close()
    assert {r["id"] for r in rows} == set(ws.people["customer_id"].to_pylist())


def test_our_daily_deliveries_export_and_messages_listing_are_whole_under_every_reading(reading: str) -> None:
    """Our land tasks always send both ends of a day: neither the open-range nor the months reading changes rows."""
    ws = workspace()
    day = ws.start_at + timedelta(days=4)
    with running(ws, readings=READINGS[reading]) as emulator:
        client = _client(emulator)
        export = client.create_deliveries_export(newsletter_id=101, start=day, end=day + timedelta(days=1))
        client.wait_for_export(export["id"], poll_interval=0.01, timeout=10)
        exported = {r["id"] for r in download_rows(emulator, export["id"])}
        listed = {
            m["id"] for m in client.iter_messages(start_ts=day, end_ts=day + timedelta(days=1), limit=1000)
        }
        client.close()
    d = ws.deliveries
    in_day = pc.and_(
        pc.greater_equal(d["created_at"], pa.scalar(day)),
        pc.less(d["created_at"], pa.scalar(day + timedelta(days=1))),
    )
    newsletter = pc.fill_null(pc.equal(d["newsletter_id"], 101), False)
    assert exported == set(d.filter(pc.and_(in_day, newsletter))["delivery_id"].to_pylist()) and exported
    assert listed == set(d.filter(in_day)["delivery_id"].to_pylist())


def test_our_calls_ignore_fields_customerio_adds_later() -> None:
    """[APP] "We may add ... fields to existing endpoints ... Build your integration to ignore fields it doesn't
    recognize": with an unknown field in every answer and object, our listings, exports and pages still work."""
    ws = workspace()
    day = ws.start_at + timedelta(days=2)
    with running(ws, unknown_fields=True) as emulator:
        client = _client(emulator)
        campaigns = client.list_campaigns()
        export = client.create_deliveries_export(campaign_id=2, start=day, end=day + timedelta(days=1))
        done = client.wait_for_export(export["id"], poll_interval=0.01, timeout=10)
        members = list(client.iter_segment_membership(1, limit=50))
        listed = list(client.iter_messages(start_ts=day, end_ts=day + timedelta(days=1), limit=100))
        client.close()
    assert "field_added_later" in campaigns[0] and "field_added_later" in done  # the field really was there
    assert {c["id"] for c in campaigns} == {1, 2, 3, 4}
    assert done["status"] == "done" and done["total"] > 0
    assert [m["id"] for m in members] == ws.people.filter(segment_mask(ws, 1))["customer_id"].to_pylist()
    assert len(listed) == len({m["id"] for m in listed}) > 0


def test_our_client_never_asks_for_a_range_customerio_would_cut(reading: str) -> None:
    """[EXD] a range over 12 months is cut to the 12 months before ``end``. Our client must refuse such a range
    (it says it does) or get every delivery it asked for, under every reading of "12 months"."""
    ws = workspace(people=300, days=420)
    end = ws.end_at
    start = end - timedelta(days=366)
    with running(ws, readings=READINGS[reading]) as emulator:
        client = _client(emulator)
        try:
            export = client.create_deliveries_export(newsletter_id=101, start=start, end=end)
        except ValueError:
            client.close()
            return  # refused before calling: nothing lost
        client.wait_for_export(export["id"], poll_interval=0.01, timeout=10)
        got = {r["id"] for r in download_rows(emulator, export["id"])}
        client.close()
    d = ws.deliveries
    wanted = pc.and_(
        pc.fill_null(pc.equal(d["newsletter_id"], 101), False),
        pc.and_(
            pc.greater_equal(d["created_at"], pa.scalar(start)), pc.less(d["created_at"], pa.scalar(end))
        ),
    )
    lost = set(d.filter(wanted)["delivery_id"].to_pylist()) - got
    assert months_before(end, 12, reading) > start  # the cut falls inside the asked range under this reading
    assert not lost, f"{len(lost)} deliveries asked for and not exported"
