"""A member's identifier lists hold exactly the distinct prepared values of every profile the customer has.

The lists are built in Arrow from each kind's hashed values, placed by the customer's position in the pass; these
properties hold them to the per-value API (``identity.prepare``), with customers having one to three profiles whose
emails and phones overlap, repeat in another spelling, or are invalid, and the customers hashed in one pass or
several.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from audience_tables import AS_OF, ago, orders, people
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.audiences import AudienceInputs, build_audience, load_definition
from airflow_provider_cio.audiences import identifiers as identifiers_module
from airflow_provider_cio.identity import prepare

SUPPRESS = "suppress_recent_purchasers"
# a small pool, so profiles of one customer share values, and spellings that normalize alike
_EMAILS = st.sampled_from(
    [
        None,
        "a@example.com",
        " A@Example.com",
        "b@example.com",
        "c.d@gmail.com",
        "cd@gmail.com",
        "not-an-email",
    ]
)
_PHONES = st.sampled_from([None, "+1 212 736 4001", "(212) 736-4001", "+44 20 7946 0958", "0000000000"])
_PROFILES = st.lists(st.tuples(_EMAILS, _PHONES), min_size=1, max_size=3)


def _expected(profiles: list[tuple[Any, Any]], platform: str, kind: str) -> list[str]:
    index = 0 if kind == "email" else 1
    values = {prepare(kind, p[index], platform=platform, default_country="US") for p in profiles}
    return sorted(v for v in values if v is not None)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PROFILES, min_size=1, max_size=5), st.sampled_from([1, 2, 250_000]))
def test_member_lists_are_the_distinct_prepared_values_of_every_profile(
    customers: list[list[tuple[Any, Any]]], pass_customers: int
) -> None:
    rows = [
        {"customer_id": f"c{i}", "cio_id": f"cio-{i}-{j}", "email": email, "phone": phone}
        for i, profiles in enumerate(customers)
        for j, (email, phone) in enumerate(profiles)
    ]
    with mock.patch.object(
        identifiers_module, "MEMBER_CHUNK_CUSTOMERS", pass_customers
    ):  # one or several passes
        build = build_audience(
            load_definition(SUPPRESS),
            AudienceInputs(
                people=people(*rows),
                warehouse={"orders": orders(*((f"c{i}", 10.0, ago(days=1)) for i in range(len(customers))))},
            ),
            as_of=AS_OF,
            default_country="US",
        )
    members = {m["customer_id"]: m for m in build.members.to_pylist()}
    assert len(members) == build.members.num_rows  # one member per customer, whatever the passes
    unusable = 0
    for i, profiles in enumerate(customers):
        expected = {
            f"{platform}_{kind}": _expected(profiles, platform, kind)
            for platform in ("meta", "google")
            for kind in ("email", "phone")
        }
        if not any(expected.values()):
            assert f"c{i}" not in members  # no usable identifier: excluded, not a member with empty lists
            unusable += 1
            continue
        got = members[f"c{i}"]
        assert {column: got[column] for column in expected} == expected
    assert build.stats["exclusions"]["no_usable_identifier"] == unusable
