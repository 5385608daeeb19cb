"""The Customer.io emulator's documented rules as pure functions, checked on generated input (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_devkit.emulators.customerio import rules
from cio_devkit.emulators.customerio.rules import Readings, RuleViolation

# 2001 .. 2099, unix seconds
MOMENTS = st.integers(min_value=978_307_200, max_value=4_070_908_800)
READINGS = st.builds(
    Readings,
    months=st.sampled_from(["calendar", "30d"]),
    export_open_range=st.sampled_from(["like_messages", "reject"]),
    multi_key_filter=st.sampled_from(["and", "reject"]),
)
DAY = 86400


@given(MOMENTS, st.integers(min_value=1, max_value=24))
def test_calendar_months_keep_the_time_of_day_and_land_in_the_right_month(moment: int, months: int) -> None:
    earlier = datetime.fromtimestamp(rules.months_before(moment, months), UTC)
    at = datetime.fromtimestamp(moment, UTC)
    assert (at.year * 12 + at.month) - (earlier.year * 12 + earlier.month) == months
    assert earlier.time() == at.time() and earlier.day <= at.day
    assert 28 * months * DAY <= moment - int(earlier.timestamp()) <= 31 * months * DAY


def test_calendar_months_clamp_to_the_shorter_month() -> None:
    may_31 = int(datetime(2025, 5, 31, 12, tzinfo=UTC).timestamp())
    assert rules.months_before(may_31, 3) == int(datetime(2025, 2, 28, 12, tzinfo=UTC).timestamp())
    assert rules.months_before(may_31, 3, "30d") == may_31 - 90 * DAY
    with pytest.raises(ValueError, match="unknown months reading"):
        rules.months_before(may_31, 3, "lunar")


@given(MOMENTS, MOMENTS, MOMENTS, READINGS)
def test_an_export_window_never_exceeds_twelve_months_and_keeps_the_end(
    a: int, b: int, now: int, r: Readings
) -> None:
    start, end = min(a, b), max(a, b)
    lo, hi = rules.export_window(start, end, now, r)
    assert hi == end and start <= lo <= hi
    assert lo == max(start, rules.months_before(end, 12, r.months))


@given(MOMENTS, READINGS)
def test_an_export_without_a_range_covers_the_six_months_before_now(now: int, r: Readings) -> None:
    assert rules.export_window(None, None, now, r) == (rules.months_before(now, 6, r.months), now)


@given(MOMENTS, MOMENTS, READINGS)
def test_an_open_export_range_follows_the_reading(edge: int, now: int, r: Readings) -> None:
    for start, end in ((edge, None), (None, edge)):
        if r.export_open_range == "reject":
            with pytest.raises(RuleViolation):
                rules.export_window(start, end, now, r)
        else:
            lo, hi = rules.export_window(start, end, now, r)
            assert lo <= hi or start is not None  # a start after now leaves an empty window


@given(st.one_of(st.none(), MOMENTS), st.one_of(st.none(), MOMENTS), MOMENTS, READINGS)
def test_a_messages_window_is_at_most_six_months(
    start: int | None, end: int | None, now: int, r: Readings
) -> None:
    lo, hi = rules.messages_window(start, end, now, r)
    assert hi == (end if end is not None else now)
    assert lo >= rules.months_before(hi, 6, r.months)
    if start is not None:
        assert lo >= start


def test_a_reversed_export_range_is_refused() -> None:
    with pytest.raises(RuleViolation, match="before start"):
        rules.export_window(200, 100, 300)


# ----------------------------------------------------------------------------------------------- filter language

LEAVES = st.one_of(
    st.builds(lambda i: {"segment": {"id": i}}, st.integers(min_value=1, max_value=99)),
    st.builds(
        lambda f, v: {"attribute": {"field": f, "operator": "eq", "value": v}},
        st.sampled_from(["state", "country", "interest", "id"]),
        st.one_of(st.text(max_size=8), st.booleans()),
    ),
    st.builds(
        lambda f: {"attribute": {"field": f, "operator": "exists"}}, st.sampled_from(["phone", "email"])
    ),
)
VALID = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=8,
)
BROKEN_LEAVES = st.sampled_from(
    [
        {"attribute": {"field": "state", "operator": "eq"}},
        {"attribute": {"field": "state", "operator": "ne", "value": "x"}},
        {"attribute": {"operator": "exists"}},
        {"segment": {"id": "3"}},
        {"segment": {"id": True}},
        {"and": []},
        {"or": {"segment": {"id": 1}}},
        {"not": [{"segment": {"id": 1}}]},
        {"segments": {"id": 1}},
        {},
        [],
        "segment",
    ]
)


@given(VALID, READINGS)
def test_every_well_formed_filter_tree_is_accepted(tree: dict[str, Any], r: Readings) -> None:
    rules.check_filter(tree, r)


@given(VALID, BROKEN_LEAVES, st.data())
def test_one_broken_node_anywhere_is_refused(tree: dict[str, Any], broken: Any, data: st.DataObject) -> None:
    """Replace a random node of a valid tree with a broken one: the whole filter is refused."""
    nodes: list[tuple[Any, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        for key, value in node.items():
            if key in ("and", "or"):
                nodes.extend((value, i) for i in range(len(value)))
                for child in value:
                    walk(child)
            elif key == "not":
                nodes.append((node, "not"))
                walk(value)

    walk(tree)
    if not nodes:
        tree = {"and": [tree]}
        nodes = [(tree["and"], 0)]
    parent, slot = data.draw(st.sampled_from(nodes))
    parent[slot] = broken
    with pytest.raises(RuleViolation):
        rules.check_filter(tree)


@settings(max_examples=50)
@given(VALID, VALID)
def test_a_multi_key_object_is_refused_at_the_top_and_read_by_the_setting_below(a: Any, b: Any) -> None:
    merged = {"and": [{**{"segment": {"id": 1}}, **{"or": [a, b]}}]}
    rules.check_filter(merged, Readings(multi_key_filter="and"))
    with pytest.raises(RuleViolation, match="one property"):
        rules.check_filter(merged, Readings(multi_key_filter="reject"))
    with pytest.raises(RuleViolation, match="one property"):
        rules.check_filter({"segment": {"id": 1}, "or": [a, b]}, Readings(multi_key_filter="and"))


@given(st.dictionaries(st.sampled_from(rules.DELIVERY_PARENTS), st.integers(1, 10**6), max_size=4))
def test_a_deliveries_export_names_exactly_one_parent(body: dict[str, int]) -> None:
    if len(body) == 1:
        assert rules.deliveries_export_parent(body) == next(iter(body.items()))
    else:
        with pytest.raises(RuleViolation, match="exactly one"):
            rules.deliveries_export_parent(body)


@given(st.text(max_size=15))
def test_only_documented_metrics_pass(metric: str) -> None:
    if metric in rules.EXPORT_METRICS:
        assert rules.export_metric({"metric": metric}) == metric
    else:
        with pytest.raises(RuleViolation):
            rules.export_metric({"metric": metric})
