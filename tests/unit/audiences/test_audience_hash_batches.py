"""Identity hashing in bounded slices gives the same members and drop counts as hashing a build in one piece."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from unittest import mock

from audience_tables import AS_OF, ago, orders, people, person
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.audiences import AudienceInputs, build_audience, load_definition
from airflow_provider_cio.audiences import identifiers as identifiers_module

SUPPRESS = "suppress_recent_purchasers"

_emails = st.one_of(
    st.none(),
    st.sampled_from(["A.B@Gmail.com ", "x@example.com", "not-an-email", "", "UPPER@EXAMPLE.COM"]),
    st.from_regex(r"[a-z.]{1,8}@[a-z]{1,6}\.(com|de|co\.uk)", fullmatch=True),
)
_phones = st.one_of(
    st.none(),
    st.sampled_from(["+1 415 555 0100", "0000000000", "(020) 7946 0958", "07700 900123", "+44 20 7946 0958"]),
    st.from_regex(r"\+?[0-9 ()-]{4,16}", fullmatch=True),
)
_people = st.lists(
    st.tuples(_emails, _phones, st.sampled_from(["US", "GB", "DE", None, "gb"])),
    min_size=1,
    max_size=12,
)


def _build(
    rows: Sequence[tuple[str | None, str | None, str | None]], slice_rows: int
) -> tuple[list[dict[str, Any]], Any]:
    cids = [f"c{i}" for i in range(len(rows))]
    p = people(
        *(
            person(cid, email=email, phone=phone, country=country)
            for cid, (email, phone, country) in zip(cids, rows, strict=True)
        )
    )
    o = orders(*((cid, 10.0, ago(days=1)) for cid in cids))
    with mock.patch.object(identifiers_module, "HASH_BATCH_ROWS", slice_rows):
        build = build_audience(
            load_definition(SUPPRESS),
            AudienceInputs(people=p, warehouse={"orders": o}),
            as_of=AS_OF,
            default_country="US",
        )
    return build.members.to_pylist(), build.stats["identifier_drops"]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_people, st.integers(min_value=1, max_value=4))
def test_slices_change_nothing(
    rows: list[tuple[str | None, str | None, str | None]], slice_rows: int
) -> None:
    assert _build(rows, slice_rows) == _build(rows, 500_000)


def test_a_slice_boundary_inside_one_kind_keeps_every_customer() -> None:
    rows = [(f"p{i}@example.com", f"+1 212 736 40{i:02d}", "US") for i in range(7)]
    members, drops = _build(rows, 3)  # 7 customers: slices of 3, 3 and 1
    assert len(members) == 7
    assert all(m["meta_email"] and m["google_phone"] for m in members)
    assert drops == {"meta": {}, "google": {}}
