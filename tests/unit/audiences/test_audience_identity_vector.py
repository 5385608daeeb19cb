"""The audience build's identity step gives the same members and drop counts on the DuckDB column path as without.

``hash_new_customers`` hashes through ``identity.prepare_column_arrow``; columns of ``VECTOR_MIN`` values or more
take the DuckDB path (``identity/vector.py``). Lowering ``VECTOR_MIN`` to 1 sends these small builds through it; the
answers must be those of the per-value path (``VECTOR_MIN`` out of reach).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from unittest import mock

from audience_tables import AS_OF, ago, orders, people, person
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.audiences import AudienceInputs, build_audience, load_definition
from airflow_provider_cio.identity import column as identity_column

_emails = st.one_of(
    st.none(),
    st.sampled_from(
        [" A.B+x@Gmail.com ", "x@example.com", "not-an-email", "", "Zoë@exämple.com", "a@xn--bcher-kva.de"]
    ),
    st.from_regex(r"[A-Za-z.+]{1,8}@[a-z]{1,6}\.(com|de|co\.uk)", fullmatch=True),
)
_phones = st.one_of(
    st.none(),
    st.sampled_from(
        ["+1 415 555 0100", "0000000000", "(020) 7946 0958", "07700 900123", "+44 (0)20 7946 0958"]
    ),
    st.from_regex(r"(\+|00)?[0-9 ()-]{4,16}", fullmatch=True),
)
_people = st.lists(
    st.tuples(_emails, _phones, st.sampled_from(["US", "GB", "DE", None, "gb", "Deutschland"])),
    min_size=1,
    max_size=12,
)


def _build(rows: Sequence[tuple[str | None, str | None, str | None]], vector_min: int) -> tuple[Any, Any]:
    cids = [f"c{i}" for i in range(len(rows))]
    p = people(
        *(
            person(cid, email=email, phone=phone, country=country)
            for cid, (email, phone, country) in zip(cids, rows, strict=True)
        )
    )
    o = orders(*((cid, 10.0, ago(days=1)) for cid in cids))
    with mock.patch.object(identity_column, "VECTOR_MIN", vector_min):
        build = build_audience(
            load_definition("suppress_recent_purchasers"),
            AudienceInputs(people=p, warehouse={"orders": o}),
            as_of=AS_OF,
            default_country="US",
        )
    return build.members.to_pylist(), build.stats["identifier_drops"]


@settings(max_examples=5, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(_people)
def test_the_duckdb_path_changes_no_member(rows: list[tuple[str | None, str | None, str | None]]) -> None:
    assert _build(rows, 1) == _build(rows, 10**9)


def test_common_shapes_hash_as_before_on_the_duckdb_path() -> None:
    rows = [(f" P{i}.X@Gmail.com", f"+1 (212) 736-40{i:02d}", "US") for i in range(5)] + [
        (None, "0000000000", "GB")
    ]
    members, drops = _build(rows, 1)
    assert (members, drops) == _build(rows, 10**9)
    assert sum(1 for m in members if m["meta_email"] and m["google_phone"]) == 5
    assert drops["meta"] == {"phone": {"placeholder_phone": 1}}
