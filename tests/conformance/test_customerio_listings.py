"""Customer.io App API listings: cursor pagination, page limits and GET /v1/messages' documented time window.

Pages (https://docs.customer.io/integrations/api/app/ ...):
- [MSG] "List messages" .../tag/messages/listMessages/ : ``start`` is the ``next`` of the previous page; ``limit``
  max 1000; "We limit your requests to 6 months" with four spelled-out cases of ``start_ts`` / ``end_ts``.
- [SEG] "List customers in a segment" .../tag/segments/getSegmentMembership/ : ``identifiers`` and ``ids``, paged
  with ``start``/``next``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cio_devkit.emulators.synthetic import SyntheticWorkspace, segment_mask

from .customerio_support import LONG, READINGS, call, months_before, running, workspace


def _all_messages(emulator: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of ``GET /v1/messages``: pass each answer's ``next`` back as ``start``; an empty ``next`` ends."""
    out: list[dict[str, Any]] = []
    query = {"limit": 1000, **params}
    while True:
        answer = call(emulator, "GET", "/v1/messages", params=query)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        out.extend(page["messages"])
        if not page["next"]:
            return out
        query["start"] = page["next"]


def _created_between(ws: SyntheticWorkspace, lo: datetime, hi: datetime) -> set[str]:
    d = ws.deliveries
    mask = pc.and_(pc.greater_equal(d["created_at"], pa.scalar(lo)), pc.less(d["created_at"], pa.scalar(hi)))
    return set(d.filter(mask)["delivery_id"].to_pylist())


def test_messages_pages_follow_next_until_it_is_empty() -> None:
    """[MSG] "Responses contain a next property. Use this property as the start value to return the next page"."""
    ws = workspace()
    with running(ws) as emulator:
        small = call(emulator, "GET", "/v1/messages", params={"limit": 7}).json()
        pages = _all_messages(emulator)
    assert len(small["messages"]) == 7 and small["next"]
    ids = [m["id"] for m in pages]
    assert len(ids) == len(set(ids)) == ws.deliveries.num_rows  # every delivery once (a 10-day workspace)


@pytest.mark.parametrize(("limit", "status"), [(1000, 200), (1001, 400), (0, 400)])
def test_messages_limit_is_at_most_1000(limit: int, status: int) -> None:
    """[MSG] ``limit``: "max: 1000"."""
    with running(workspace()) as emulator:
        assert call(emulator, "GET", "/v1/messages", params={"limit": limit}).status_code == status


def test_a_message_carries_its_metrics_as_unix_timestamps() -> None:
    """[MSG] each delivery with ``metrics`` {sent, delivered, opened, ...: unix timestamp} and ``created``."""
    ws = workspace()
    with running(ws) as emulator:
        messages = {m["id"]: m for m in _all_messages(emulator)}
    for row in ws.deliveries.slice(0, 200).to_pylist():
        message = messages[row["delivery_id"]]
        assert message["created"] == int(row["created_at"].timestamp())
        if row["opened_at"] is not None:
            assert message["metrics"]["opened"] == int(row["opened_at"].timestamp())
        else:
            assert "opened" not in message["metrics"]


@pytest.mark.parametrize("reading", ["strict", "lenient"])
@pytest.mark.parametrize("case", ["neither", "only_end", "only_start", "both_too_long", "both_short"])
def test_messages_cover_at_most_six_months_by_the_pages_cases(case: str, reading: str) -> None:
    """[MSG] neither: "the most recent 6 months"; only end_ts: "6 months of data before this timestamp"; only
    start_ts: "set the end_ts to the current time and deliver 6 months of data prior"; start_ts more than 6 months
    before end_ts: "we only send back 6 months". The emulator's "current time" is the workspace's end."""
    ws = workspace(**LONG)
    now = ws.end_at
    end = now - timedelta(days=40)
    old = ws.start_at + timedelta(days=3)
    params, (lo, hi) = {
        "neither": ({}, (months_before(now, 6, reading), now)),
        "only_end": ({"end_ts": int(end.timestamp())}, (months_before(end, 6, reading), end)),
        "only_start": ({"start_ts": int(old.timestamp())}, (months_before(now, 6, reading), now)),
        "both_too_long": (
            {"start_ts": int(old.timestamp()), "end_ts": int(end.timestamp())},
            (months_before(end, 6, reading), end),
        ),
        "both_short": (
            {"start_ts": int(old.timestamp()), "end_ts": int((old + timedelta(days=9)).timestamp())},
            (old, old + timedelta(days=9)),
        ),
    }[case]
    with running(ws, readings=READINGS[reading]) as emulator:
        got = {m["id"] for m in _all_messages(emulator, **params)}
    assert got == _created_between(ws, lo, hi) and got
    assert got != _created_between(ws, ws.start_at, now)


def test_segment_membership_pages_carry_identifiers_and_ids() -> None:
    """[SEG] ``identifiers`` ({id, email, cio_id}) and ``ids`` per page, ``next`` until empty."""
    ws = workspace()
    with running(ws) as emulator:
        ids: list[str] = []
        params: dict[str, Any] = {"limit": 10}
        while True:
            page = call(emulator, "GET", "/v1/segments/1/membership", params=params).json()
            assert [i["id"] for i in page["identifiers"]] == page["ids"]
            assert all({"id", "email", "cio_id"} <= set(i) for i in page["identifiers"])
            ids.extend(page["ids"])
            if not page["next"]:
                break
            params["start"] = page["next"]
    members = ws.people.filter(segment_mask(ws, 1))["customer_id"].to_pylist()
    assert ids == members and len(ids) > 10
