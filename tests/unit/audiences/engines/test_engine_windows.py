"""Declared windows: a definition says which rows of a warehouse table it can see, and a run reads the widest
window its definitions need (all history when one of them needs it)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.audiences import AudienceDefinitionError, load_definition
from airflow_provider_cio.audiences.definitions import AudienceDefinition
from airflow_provider_cio.audiences.warehouse import read_window


def definition(name: str, window: dict[str, Any] | None, default: int = 30) -> AudienceDefinition:
    raw: dict[str, Any] = {
        "name": name,
        "sql": "SELECT customer_id FROM orders WHERE ordered_at >= $as_of - to_days(CAST($d AS INTEGER))",
        "requires": {"orders": ["customer_id", "ordered_at", "amount"]},
        "parameters": {"d": {"type": "int", "default": default}},
    }
    if window is not None:
        raw["windows"] = {"orders": window}
    return AudienceDefinition.from_mapping(raw)


def test_the_reference_set_reads_all_order_history_because_reactivation_needs_it() -> None:
    names = ["suppress_recent_purchasers", "high_intent_unresponsive_carts", "reactivation_tiers"]
    assert read_window([load_definition(n) for n in names], "orders") == ("ordered_at", None)
    assert read_window([load_definition(n) for n in names[:2]], "orders") == ("ordered_at", 365)
    overrides = {"high_intent_unresponsive_carts": {"aov_lookback_days": 20}}
    assert read_window([load_definition(n) for n in names[:2]], "orders", overrides) == ("ordered_at", 30)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(1, 1000), st.just("d")), min_size=1, max_size=5),
    st.integers(1, 400),
)
def test_the_read_window_is_the_widest_declared(days: list[Any], default: int) -> None:
    defs = [definition(f"a{i}", {"column": "ordered_at", "days": d}, default) for i, d in enumerate(days)]
    resolved = [default if d == "d" else d for d in days]
    expected = None if None in resolved else max(resolved)
    assert read_window(defs, "orders") == ("ordered_at", expected)


def test_no_window_when_a_reader_declares_none_or_columns_disagree() -> None:
    windowed = definition("a", {"column": "ordered_at", "days": 5})
    assert read_window([windowed, definition("b", None)], "orders") is None
    assert read_window([windowed, definition("c", {"column": "amount", "days": 5})], "orders") is None
    assert read_window([windowed], "people") is None


@pytest.mark.parametrize(
    ("window", "words"),
    [
        ({"column": "shipped_at"}, "requires does not list"),
        ({"column": "ordered_at", "days": "nope"}, "not an int parameter"),
        ({"column": "ordered_at", "days": 0}, ">= 1"),
        ({"days": 3}, "missing or malformed"),
    ],
)
def test_a_wrong_window_is_a_definition_error(window: dict[str, Any], words: str) -> None:
    with pytest.raises(AudienceDefinitionError, match=words):
        definition("a", window)


@pytest.mark.parametrize("column", ['ordered"at', "ordered at", "1st", "a;b", ""])
def test_a_required_column_that_is_not_a_plain_identifier_is_refused(column: str) -> None:
    raw = {
        "name": "a",
        "sql": "SELECT customer_id FROM orders",
        "requires": {"orders": ["customer_id", column]},
    }
    with pytest.raises(AudienceDefinitionError, match="plain identifiers"):
        AudienceDefinition.from_mapping(raw)
