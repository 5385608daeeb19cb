"""Each reference audience on hand-built tables with explicitly expected customer id sets."""

from __future__ import annotations

import pytest
from audience_tables import AS_OF, ago, deliveries, events, ids, orders, people, person

from airflow_provider_cio.audiences import (
    AudienceDefinition,
    AudienceDefinitionError,
    AudienceEngine,
    AudienceInputError,
    AudienceInputs,
    available_definitions,
    build_audience,
    load_definition,
)
from airflow_provider_cio.audiences.definitions import REFERENCE_AUDIENCES


def everyone(*cids: str):  # noqa: ANN201
    return people(*(person(c) for c in cids))


def test_shipped_definitions_load_with_explicit_defaults() -> None:
    assert set(REFERENCE_AUDIENCES) <= set(available_definitions())
    assert load_definition("suppress_recent_purchasers").resolve() == {"purchase_window_days": 30}
    assert load_definition("engaged_clickers_14d").resolve()["click_window_days"] == 14
    assert load_definition("viewed_twice_no_purchase").resolve() == {
        "view_window_days": 3,
        "min_views": 2,
        "purchase_window_days": 30,
        "view_event": "viewed_product",
    }
    assert load_definition("high_intent_unresponsive_carts").resolve()["min_aov"] == 80.0
    assert load_definition("suppress_recent_purchasers").purpose == "suppression"


def test_suppress_recent_purchasers_window_is_a_parameter() -> None:
    o = orders(
        ("recent", 50, ago(days=5)),
        ("edge", 50, ago(days=30)),  # exactly N days ago: inside [as_of - N, as_of)
        ("old", 50, ago(days=40)),
        ("at_as_of", 50, AS_OF),  # the next interval's
    )
    inputs = AudienceInputs(people=everyone("recent", "edge", "old", "at_as_of"), warehouse={"orders": o})
    definition = load_definition("suppress_recent_purchasers")
    assert ids(build_audience(definition, inputs, as_of=AS_OF)) == {"recent", "edge"}
    wider = build_audience(definition, inputs, as_of=AS_OF, parameters={"purchase_window_days": 45})
    assert ids(wider) == {"recent", "edge", "old"}
    assert wider.stats["parameters"] == {"purchase_window_days": 45}


def test_engaged_clickers_14d() -> None:
    d = deliveries(
        {"customer_id": "k1", "clicked_at": ago(days=3), "opened_at": ago(days=3)},
        {"customer_id": "k2", "clicked_at": ago(days=20)},
        {"customer_id": "k3", "opened_at": ago(days=1)},
        {"customer_id": "k4", "clicked_at": ago(days=1), "delivery_type": "push"},
        {
            "customer_id": None,
            "internal_customer_id": "int-5",
            "clicked_at": ago(days=2),
        },  # mapped via people
        {"customer_id": "k6", "clicked_at": AS_OF},
    )
    p = people(
        *(person(c) for c in ("k1", "k2", "k3", "k4", "k6")), person("k5", internal_customer_id="int-5")
    )
    build = build_audience(
        load_definition("engaged_clickers_14d"), AudienceInputs(people=p, deliveries=d), as_of=AS_OF
    )
    assert ids(build) == {"k1", "k5"}


def test_viewed_twice_no_purchase() -> None:
    e = events(
        {"customer_id": "v1", "timestamp": ago(days=1)},
        {"customer_id": "v1", "timestamp": ago(days=2)},
        {"customer_id": "v2", "timestamp": ago(days=1)},
        {"customer_id": "v2", "timestamp": ago(days=1, hours=5)},
        {"customer_id": "v3", "timestamp": ago(days=1)},
        {"customer_id": "v4", "timestamp": ago(days=1)},
        {"customer_id": "v4", "timestamp": ago(days=4)},
        {"customer_id": "v5", "timestamp": ago(hours=1)},
        {"customer_id": "v5", "timestamp": ago(hours=2)},
        {"customer_id": "v5", "timestamp": ago(hours=3)},
        {"event_id": "dup", "customer_id": "v6", "timestamp": ago(days=1)},
        {"event_id": "dup", "customer_id": "v6", "timestamp": ago(days=1)},  # the same event landed twice
        {"customer_id": "v7", "timestamp": ago(days=1), "name": "added_to_cart"},
        {"customer_id": "v7", "timestamp": ago(days=1), "name": "added_to_cart"},
    )
    o = orders(("v2", 30, ago(days=10)), ("v5", 30, ago(days=40)))
    inputs = AudienceInputs(
        people=everyone(*(f"v{i}" for i in range(1, 8))), events=e, warehouse={"orders": o}
    )
    build = build_audience(load_definition("viewed_twice_no_purchase"), inputs, as_of=AS_OF)
    assert ids(build) == {"v1", "v5"}


def test_high_intent_unresponsive_carts() -> None:
    cart = {"name": "added_to_cart"}
    first = {"campaign_id": 2, "action_id": 21}
    second = {"campaign_id": 2, "action_id": 22}
    e = events(
        *(
            {**cart, "customer_id": c, "timestamp": ago(hours=24)}
            for c in ("h1", "h2", "h3", "h4", "h5", "h7", "h8")
        ),
        {**cart, "customer_id": "h6", "timestamp": ago(hours=100)},
    )
    d = deliveries(
        {**first, "customer_id": "h1", "created_at": ago(hours=23)},
        {**first, "customer_id": "h2", "created_at": ago(hours=23), "clicked_at": ago(hours=22)},
        {**first, "customer_id": "h3", "created_at": ago(hours=23)},
        {**second, "customer_id": "h3", "created_at": ago(hours=5), "clicked_at": ago(hours=4)},
        {**first, "customer_id": "h4", "created_at": ago(hours=23)},
        {**first, "customer_id": "h5", "created_at": ago(hours=23)},
        {**first, "customer_id": "h6", "created_at": ago(hours=99)},
        {**first, "customer_id": "h7", "created_at": ago(hours=23)},
        {**first, "customer_id": "h8", "created_at": ago(days=20)},  # for an older cart, not this one
        {**first, "customer_id": "h2", "created_at": ago(hours=12)},  # a later resend: not the FIRST email
    )
    o = orders(
        ("h1", 90, ago(days=60)),
        ("h1", 110, ago(days=50)),  # AOV 100
        ("h2", 200, ago(days=60)),
        ("h3", 120, ago(days=60)),
        ("h4", 70, ago(days=60)),  # AOV 70
        ("h5", 150, ago(days=60)),
        ("h5", 150, ago(hours=2)),  # bought after the cart
        ("h6", 150, ago(days=60)),
        ("h8", 150, ago(days=60)),
        ("h9", 80, ago(days=60)),
    )
    inputs = AudienceInputs(
        people=everyone(*(f"h{i}" for i in range(1, 10))), events=e, deliveries=d, warehouse={"orders": o}
    )
    definition = load_definition("high_intent_unresponsive_carts")
    assert ids(build_audience(definition, inputs, as_of=AS_OF)) == {"h1", "h3"}
    # a lower AOV bar lets h4 in; a wider cart window lets h6 in
    assert ids(build_audience(definition, inputs, as_of=AS_OF, parameters={"min_aov": 60})) == {
        "h1",
        "h3",
        "h4",
    }
    wide = build_audience(definition, inputs, as_of=AS_OF, parameters={"cart_window_hours": 120})
    assert ids(wide) == {"h1", "h3", "h6"}


def test_reactivation_tiers_scores_and_cutoffs() -> None:
    o = orders(
        *(("gold", 100, ago(days=120 + i), 40.0) for i in range(5)),  # 5 orders + 200 margin*0.05 = 15
        ("silver", 100, ago(days=100), 20.0),  # 1 + 1 + 4 clicks*2 = 10
        ("bronze", 100, ago(days=200), 60.0),  # 1 + 3 = 4
        ("low", 100, ago(days=200), 10.0),  # 1.5
        ("active", 100, ago(days=10), 500.0),  # not lapsed
    )
    d = deliveries(*({"customer_id": "silver", "clicked_at": ago(days=5 + i)} for i in range(4)))
    inputs = AudienceInputs(
        people=everyone("gold", "silver", "bronze", "low", "active"), deliveries=d, warehouse={"orders": o}
    )
    build = build_audience(load_definition("reactivation_tiers"), inputs, as_of=AS_OF)
    rows = {r["customer_id"]: r for r in build.members.select(["customer_id", "tier", "score"]).to_pylist()}
    assert {c: r["tier"] for c, r in rows.items()} == {"gold": "gold", "silver": "silver", "bronze": "bronze"}
    assert rows["gold"]["score"] == pytest.approx(15.0)
    assert rows["silver"]["score"] == pytest.approx(10.0)
    assert rows["bronze"]["score"] == pytest.approx(4.0)
    assert build.stats["tiers"] == {"bronze": 1, "gold": 1, "silver": 1}
    # cut-offs are parameters: raising gold above 15 demotes gold to silver
    build = build_audience(
        load_definition("reactivation_tiers"), inputs, as_of=AS_OF, parameters={"gold_min": 16}
    )
    assert build.stats["tiers"] == {"bronze": 1, "silver": 2}


def test_missing_warehouse_table_and_column_are_named() -> None:
    inputs = AudienceInputs(people=everyone("a"))
    with pytest.raises(AudienceInputError, match="warehouse table 'orders'"):
        build_audience(load_definition("suppress_recent_purchasers"), inputs, as_of=AS_OF)
    bad_orders = orders(("a", 10, ago(days=1))).drop_columns(["ordered_at"])
    inputs = AudienceInputs(people=everyone("a"), warehouse={"orders": bad_orders})
    with pytest.raises(AudienceInputError, match=r"'orders' lacks column\(s\) ordered_at"):
        build_audience(load_definition("suppress_recent_purchasers"), inputs, as_of=AS_OF)
    with pytest.raises(AudienceInputError, match="does not exist"):
        AudienceEngine(
            AudienceInputs(people=everyone("a"), warehouse={"orders": "/nonexistent/orders.parquet"})
        )


def test_bad_parameters_and_definitions_are_configuration_errors() -> None:
    definition = load_definition("suppress_recent_purchasers")
    with pytest.raises(AudienceDefinitionError, match="unknown parameter"):
        definition.resolve({"window": 3})
    with pytest.raises(AudienceDefinitionError, match="expects int"):
        definition.resolve({"purchase_window_days": "thirty"})
    with pytest.raises(AudienceDefinitionError, match="undeclared parameter"):
        AudienceDefinition(name="x", description="", sql="SELECT customer_id FROM orders WHERE amount > $min")


def test_user_directory_overrides_a_shipped_definition(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "suppress_recent_purchasers.yaml").write_text(
        "name: suppress_recent_purchasers\nversion: '2'\npurpose: suppression\n"
        "requires: {orders: [customer_id, amount]}\n"
        "parameters: {min_amount: {type: float, default: 100}}\n"
        "sql: SELECT DISTINCT customer_id FROM orders WHERE amount >= $min_amount\n"
    )
    definition = load_definition("suppress_recent_purchasers", search_dirs=[tmp_path])
    inputs = AudienceInputs(
        people=everyone("big", "small"),
        warehouse={"orders": orders(("big", 150, ago(days=300)), ("small", 5, ago(days=1)))},
    )
    build = build_audience(definition, inputs, as_of=AS_OF)
    assert ids(build) == {"big"}
    assert build.stats["definition_version"] == "2"


def test_duplicate_rows_from_a_definition_fail_loudly() -> None:
    definition = AudienceDefinition(name="dups", description="", sql="SELECT customer_id FROM orders")
    inputs = AudienceInputs(
        people=everyone("a"), warehouse={"orders": orders(("a", 1, ago(days=1)), ("a", 2, ago(days=2)))}
    )
    with pytest.raises(AudienceDefinitionError, match="1 duplicate customer_id"):
        build_audience(definition, inputs, as_of=AS_OF)
