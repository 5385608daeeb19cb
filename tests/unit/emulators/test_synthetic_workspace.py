"""The synthetic workspace: deterministic, in the landed schemas, and messy in the ways real data is messy."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from airflow_provider_cio.datasets import arrow_schema
from cio_devkit.emulators.synthetic import (
    CART_CAMPAIGN_ID,
    FIRST_CART_ACTION_ID,
    SECOND_CART_ACTION_ID,
    SyntheticWorkspace,
    generate_workspace,
    iter_deliveries_csv,
    segment_mask,
)

TABLES = ("people", "deliveries", "metrics", "events", "orders", "campaigns", "actions")


@pytest.fixture(scope="module")
def ws() -> SyntheticWorkspace:
    return generate_workspace(people=3000, seed=7, start=date(2024, 3, 1), days=21)


def test_same_seed_same_tables_other_seed_other_tables(ws: SyntheticWorkspace) -> None:
    again = generate_workspace(people=3000, seed=7, start=date(2024, 3, 1), days=21)
    for name in TABLES:
        assert getattr(ws, name).equals(getattr(again, name)), name
    other = generate_workspace(people=3000, seed=8, start=date(2024, 3, 1), days=21)
    assert not other.people.equals(ws.people)
    assert not other.deliveries.equals(ws.deliveries)


def test_landed_tables_match_datasets_schemas(ws: SyntheticWorkspace) -> None:
    for name in ("people", "deliveries", "metrics", "events"):
        assert getattr(ws, name).schema.equals(arrow_schema(name)), name
    assert ws.orders.schema == pa.schema(
        [
            ("customer_id", pa.string()),
            ("order_id", pa.string()),
            ("amount", pa.float64()),
            ("margin", pa.float64()),
            ("ordered_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    assert ws.campaigns.column_names == ["id", "name", "type"]
    assert {"cart_abandonment", "newsletter", "winback"} <= set(ws.campaigns["type"].to_pylist())


def test_keys_are_unique_and_well_formed(ws: SyntheticWorkspace) -> None:
    for table, key in [(ws.people, "customer_id"), (ws.people, "cio_id"), (ws.deliveries, "delivery_id"),
                       (ws.metrics, "event_id"), (ws.events, "event_id"), (ws.orders, "order_id")]:  # fmt: skip
        assert pc.count_distinct(table[key]).as_py() == table.num_rows, key
    assert ws.people["customer_id"][123].as_py() == "cust-000123"
    assert pc.all(pc.match_substring_regex(ws.people["cio_id"], r"^[0-9a-f]{12}$")).as_py()


def test_people_are_realistically_messy(ws: SyntheticWorkspace) -> None:
    p = ws.people
    phones = [x for x in p["phone"].to_pylist() if x is not None]
    assert any(x.startswith("+1") and x[1:].isdigit() for x in phones)  # E.164
    assert any(x.startswith("(") and "-" in x for x in phones)  # (415) 555-0100
    assert any("(0)" in x for x in phones)  # +44 (0)7...
    assert "" in phones and p["phone"].null_count > 0
    assert any(x in ("N/A", "0000000000", "555-555-5555", "unknown") for x in phones)
    emails = [x for x in p["email"].to_pylist() if x is not None]
    assert any(x != x.lower() for x in emails) and any(x != x.strip() for x in emails)
    assert any(x.endswith("@gmail.com") and "." in x.split("@")[0] for x in emails)
    names = set(p["first_name"].to_pylist()) | set(p["last_name"].to_pylist())
    assert {"José", "Zoë", "Müller", "李"} & names and all(n for n in names)
    countries = pc.value_counts(p["country"]).to_pylist()
    shares = {c["values"]: c["counts"] / p.num_rows for c in countries}
    assert set(shares) == {"US", "GB", "DE", "FR"} and shares["US"] > 0.75
    assert 0 < pc.sum(p["deleted"]).as_py() < 0.05 * p.num_rows
    assert 0 < pc.sum(p["suppressed"]).as_py() < 0.1 * p.num_rows
    assert pc.mean(p["ad_consent"].cast(pa.float64())).as_py() > 0.8
    assert pc.all(pc.less_equal(p["created_at"], p["updated_at"])).as_py()


def test_delivery_timelines_are_ordered_and_rates_realistic(ws: SyntheticWorkspace) -> None:
    d = ws.deliveries
    start, end = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 22, tzinfo=UTC)
    assert pc.min(d["created_at"]).as_py() >= start and pc.max(d["created_at"]).as_py() < end
    chain = ["created_at", "sent_at", "delivered_at", "opened_at", "clicked_at", "converted_at"]
    for earlier, later in zip(chain, chain[1:], strict=False):
        both = pc.and_(pc.is_valid(d[earlier]), pc.is_valid(d[later]))
        assert pc.all(pc.less_equal(d.filter(both)[earlier], d.filter(both)[later])).as_py(), later
        assert d[later].null_count >= d[earlier].null_count, later  # a funnel only narrows
    sent = d.num_rows - d["sent_at"].null_count
    opened = d.num_rows - d["opened_at"].null_count
    assert sent / d.num_rows > 0.95 and 0.15 < opened / sent < 0.5
    assert 8 < d.num_rows / ws.people.num_rows < 12  # deliveries_per_person=10 by default


def test_cart_abandonment_has_first_and_second_email_and_recoveries(ws: SyntheticWorkspace) -> None:
    d = ws.deliveries
    cart = d.filter(pc.fill_null(pc.equal(d["campaign_id"], CART_CAMPAIGN_ID), False))
    actions = set(cart["action_id"].to_pylist())
    assert actions == {FIRST_CART_ACTION_ID, SECOND_CART_ACTION_ID}
    firsts = pc.sum(pc.equal(cart["action_id"], FIRST_CART_ACTION_ID)).as_py()
    seconds = pc.sum(pc.equal(cart["action_id"], SECOND_CART_ACTION_ID)).as_py()
    assert firsts > seconds > 0
    assert cart["converted_at"].null_count < cart.num_rows  # some carts recovered by an email
    events = pc.value_counts(ws.events["name"]).to_pylist()
    counts = {e["values"]: e["counts"] for e in events}
    assert (
        counts["viewed_product"]
        > counts["added_to_cart"]
        > counts["checkout_started"]
        >= counts["order_completed"]
    )
    assert counts["order_completed"] == ws.orders.num_rows
    carts = ws.events.filter(pc.equal(ws.events["name"], "added_to_cart"))
    assert carts["cart_id"].null_count == 0
    assert pc.all(pc.less(ws.orders["margin"], ws.orders["amount"])).as_py()
    assert pc.all(pc.greater(ws.orders["amount"], 0)).as_py()


def test_metrics_are_one_row_per_metric_event(ws: SyntheticWorkspace) -> None:
    d = ws.deliveries
    expected = {m: d.num_rows - d[f"{m}_at"].null_count for m in
                ("sent", "delivered", "opened", "clicked", "converted", "bounced")}  # fmt: skip
    counts = {c["values"]: c["counts"] for c in pc.value_counts(ws.metrics["metric"]).to_pylist()}
    assert counts == expected
    clicks = ws.metrics.filter(pc.equal(ws.metrics["metric"], "clicked"))
    assert clicks["link_url"].null_count == 0
    bounces = ws.metrics.filter(pc.equal(ws.metrics["metric"], "bounced"))
    assert bounces["reason"].null_count == 0


def test_segments_are_subsets_of_live_people(ws: SyntheticWorkspace) -> None:
    alive = pc.invert(ws.people["deleted"])
    for segment in (1, 2, 3, 4):
        mask = np.asarray(segment_mask(ws, segment).to_numpy(zero_copy_only=False))
        assert mask.any() and not (mask & ~np.asarray(alive.to_numpy(zero_copy_only=False))).any()
    with pytest.raises(KeyError):
        segment_mask(ws, 42)


def test_deliveries_csv_streams_in_chunks(ws: SyntheticWorkspace) -> None:
    chunks = list(iter_deliveries_csv(ws, chunk_rows=5000))
    assert chunks[0].startswith(b"id,customer_id,cio_id,campaign_id") and chunks[0].count(b"\n") == 1
    assert len(chunks) == 1 + -(-ws.deliveries.num_rows // 5000)
    assert sum(c.count(b"\n") for c in chunks) == ws.deliveries.num_rows + 1


def test_zero_people_is_an_empty_workspace() -> None:
    empty = generate_workspace(people=0, start=date(2024, 3, 1), days=1)
    assert empty.people.num_rows == empty.deliveries.num_rows == empty.events.num_rows == 0
    assert empty.deliveries.schema.equals(arrow_schema("deliveries"))
