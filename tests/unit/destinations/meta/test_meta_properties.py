"""Generated input for the Meta converter (members -> multi-key rows) and the emulator's payload reader."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_cio.destinations.meta.schema import (
    EXTERN_ID,
    KIND_TO_KEY,
    MAX_ROWS_PER_MEMBER,
    build_payload,
    rows_for,
)
from airflow_provider_cio.sync import Member
from cio_devkit.emulators.meta.state import GraphError, _parse_payload

hexes = st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest())
values = st.one_of(hexes, st.text(max_size=12))  # mostly hashes, sometimes something that is not
member = st.builds(
    Member,
    customer_id=st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12),
    identifiers=st.dictionaries(
        st.sampled_from(sorted(KIND_TO_KEY)), st.lists(values, min_size=1, max_size=12).map(tuple), max_size=5
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(member, min_size=1, max_size=8), st.booleans())
def test_build_payload_keeps_every_member_whole_and_counts_what_is_not_hashed(batch, send_extern_id):
    payload, unhashed = build_payload(batch, send_extern_id=send_extern_id)
    schema, data = payload["schema"], payload["data"]
    assert len(set(schema)) == len(schema) and (schema[:1] == [EXTERN_ID]) is send_extern_id
    assert all(len(row) == len(schema) for row in data)
    assert len(data) == sum(rows_for(m) for m in batch)
    expected_unhashed = sum(
        1
        for m in batch
        for kind in KIND_TO_KEY
        for value in m.identifiers.get(kind, ())
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value)
    )
    assert unhashed == expected_unhashed
    start = 0
    for m in batch:
        rows = data[start : start + rows_for(m)]
        start += rows_for(m)
        if send_extern_id:
            assert {row[0] for row in rows} == {m.customer_id}
        for kind, kind_values in m.identifiers.items():
            column = schema.index(KIND_TO_KEY[kind])
            sent = {row[column] for row in rows}
            assert set(kind_values[:MAX_ROWS_PER_MEMBER]) <= sent  # every value up to the cap reaches Meta
            assert sent - {""} <= set(kind_values)  # and nothing another member holds


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | hexes,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
schemas = st.one_of(
    st.sampled_from(["EMAIL_SHA256", "PHONE_SHA256", "MOBILE_ADVERTISER_ID", "EMAIL", "SSN"]),
    st.lists(st.sampled_from(["EXTERN_ID", "EMAIL", "PHONE", "FN", "LN", "SSN", ""]), max_size=4),
    json_values,
)


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({"schema": schemas, "data": json_values}) | json_values)
def test_the_emulator_answers_any_payload_with_rows_or_a_graph_error(payload):
    try:
        schema, rows = _parse_payload(json.dumps(payload))
    except GraphError as err:
        assert err.code == 100 and err.status == 400
        return
    assert schema and all(len(row) == len(schema) for row in rows) and 0 < len(rows) <= 10_000
