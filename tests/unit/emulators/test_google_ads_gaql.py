"""The emulator's GAQL: parsed to the documented grammar, checked against the real GoogleAdsRow, always filtered,
projected, streamed; refused loudly where it does not emulate (so an emulator gap never reads as "no rows")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.ads.googleads.v26.errors.types import query_error as query_error_enum
from google_support import CUSTOMER, google_emulator
from hypothesis import given, settings
from hypothesis import strategies as st
from test_google_emulator import add, ads, new_job, op

from cio_devkit.emulators.google import gaql
from cio_devkit.emulators.google.server import GoogleEmulator


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    """The Google emulator (tests/unit/conftest.py serves the Meta one under this name)."""
    yield from google_emulator()


_WORDS = ["SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "LIMIT", "IN", "NOT", "LIKE", "IS", "NULL",
          "user_list.id", "user_list.name", "user_list", ",", "(", ")", "=", "!=", ">", "'x'", '"y"', "3", "-1",
          "DESC", "PARAMETERS", "DURING", "'", "\\"]  # fmt: skip


@settings(deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=14).map(" ".join) | st.text(max_size=60))
def test_the_parser_answers_any_text_with_a_query_or_a_query_error(text: str) -> None:
    try:
        query = gaql.parse(text)
    except gaql.GaqlError as exc:
        assert exc.code in query_error_enum.QueryErrorEnum.QueryError.__members__
    else:
        assert query.fields and query.resource


@settings(deadline=None)
@given(
    st.lists(st.sampled_from(["user_list.id", "user_list.name", "user_list.type"]), min_size=1, unique=True),
    st.text(alphabet=st.characters(exclude_characters="\n\r", exclude_categories=["Cs"]), max_size=12),
    st.integers(1, 10_000),
)
def test_generated_queries_parse_to_what_they_say(fields: list[str], name: str, limit: int) -> None:
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    query = gaql.parse(
        f"SELECT {', '.join(fields)} FROM user_list WHERE user_list.name = '{escaped}' "
        f"ORDER BY user_list.id DESC LIMIT {limit}"
    )
    assert query.fields == tuple(fields) and query.limit == limit
    assert query.conditions == (gaql.Condition("user_list.name", "=", name),)
    assert query.order_by == (("user_list.id", True),)


def search(client: Any, query: str) -> list[Any]:
    return list(client.get_service("GoogleAdsService").search(customer_id=CUSTOMER, query=query))


def query_error(client: Any, query: str) -> str:
    from google.ads.googleads.errors import GoogleAdsException

    with pytest.raises(GoogleAdsException) as err:
        search(client, query)
    return str(err.value.failure.errors[0].error_code.query_error.name)


def test_unknown_fields_and_unemulated_clauses_are_errors(emulator: GoogleEmulator) -> None:
    client = ads(emulator)
    emulator.create_user_list(CUSTOMER, "a")
    assert query_error(client, "SELECT user_list.nope FROM user_list") == "UNRECOGNIZED_FIELD"
    # a real field the emulator does not fill is refused too, never answered as empty
    assert query_error(client, "SELECT user_list.eligible_for_search FROM user_list") == "UNRECOGNIZED_FIELD"
    assert (
        query_error(client, "SELECT campaign.id FROM user_list")
        == "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"
    )
    assert (
        query_error(client, "SELECT campaign.id FROM campaign") == "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE"
    )
    assert query_error(client, "SELECT user_list.id FROM user_list PARAMETERS include_drafts=true") == (
        "BAD_PARAMETER_NAME"
    )
    assert query_error(client, "SELECT user_list.id FROM user_list WHERE user_list.id DURING TODAY") == (
        "BAD_OPERATOR"
    )
    assert query_error(client, "SELECT user_list.id FROM user_list WHERE user_list.type = NOPE") == (
        "BAD_ENUM_CONSTANT"
    )
    assert query_error(client, "SELECT user_list.id FROM user_list WHERE user_list.name = 3") == "BAD_VALUE"
    unsortable = (
        "SELECT offline_user_data_job.id FROM offline_user_data_job "
        "ORDER BY offline_user_data_job.customer_match_user_list_metadata.user_list"
    )
    assert query_error(client, unsortable) == "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE"


def test_where_always_filters_and_rows_carry_only_what_was_selected(emulator: GoogleEmulator) -> None:
    client = ads(emulator)
    short = emulator.create_user_list(CUSTOMER, "short", membership_life_span=30)
    emulator.create_user_list(CUSTOMER, "long", membership_life_span=540)
    emulator.create_user_list("999", "other customer", membership_life_span=30)
    rows = search(client, "SELECT user_list.id FROM user_list WHERE user_list.membership_life_span = 30")
    assert [r.user_list.id for r in rows] == [short]
    assert rows[0].user_list.name == "" and "membership_life_span" not in rows[0].user_list  # not selected
    names = [
        r.user_list.name
        for r in search(
            client,
            "SELECT user_list.name FROM user_list WHERE user_list.name LIKE 'l%' "
            "AND user_list.type IN (CRM_BASED, RULE_BASED) ORDER BY user_list.name DESC",
        )
    ]
    assert names == ["long"]
    assert search(client, "SELECT user_list.id FROM user_list WHERE user_list.size_for_display IS NULL") == []
    assert len(search(client, "SELECT user_list.id FROM user_list ORDER BY user_list.id LIMIT 1")) == 1


def test_search_stream_and_job_rows_that_carry_their_user_list(emulator: GoogleEmulator) -> None:
    from google.ads.googleads.errors import GoogleAdsException

    client = ads(emulator)
    job = new_job(client, emulator)
    add(client, job, [op(client, "create", "a" * 64)])
    list_id = emulator.list_id(CUSTOMER, "l")
    query = (
        "SELECT offline_user_data_job.status, offline_user_data_job.customer_match_user_list_metadata.user_list, "
        "user_list.name FROM offline_user_data_job "
        f"WHERE offline_user_data_job.customer_match_user_list_metadata.user_list = "
        f"'customers/{CUSTOMER}/userLists/{list_id}'"
    )
    service = client.get_service("GoogleAdsService")  # held: a freed service closes the stream's channel
    batches = list(service.search_stream(customer_id=CUSTOMER, query=query))
    rows = [row for batch in batches for row in batch.results]
    assert len(rows) == 1 and rows[0].offline_user_data_job.status.name == "PENDING"
    assert rows[0].offline_user_data_job.customer_match_user_list_metadata.user_list.endswith(f"/{list_id}")
    assert rows[0].user_list.name == "l"  # an attributed resource's field
    assert list(batches[0].field_mask.paths)[-1] == "user_list.name"
    unrelated = query.replace(f"/{list_id}'", "/1'")
    assert [r for b in service.search_stream(customer_id=CUSTOMER, query=unrelated) for r in b.results] == []
    with pytest.raises(GoogleAdsException):
        list(service.search_stream(customer_id=CUSTOMER, query="SELECT"))
