"""No removal names an identifier a member who stays (or joins) holds: platforms key memberships by hashed
identifier, so a departed member's shared email (a household, a shared inbox, a duplicate profile) would take the
member who keeps it. Generated before/after tables share values on purpose (a pool of a few values per kind)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from meta_sync_support import sha

from airflow_provider_cio.sync import Member
from airflow_provider_cio.sync.member_table import MemberTable
from airflow_provider_cio.sync.plan import SyncMode, build_plan
from airflow_provider_cio.sync.snapshot import Snapshot, identifiers_json, member_fingerprint

KINDS = ("email", "phone", "last_name")
POOL = st.sampled_from([sha(str(i)) for i in range(6)] + [""])  # few values: members share them often
ROW = st.tuples(
    st.integers(0, 15), st.fixed_dictionaries({k: st.lists(POOL, max_size=2) for k in KINDS}), st.booleans()
)


def table_of(rows: Sequence[tuple[int, Mapping[str, list[str]], bool]]) -> MemberTable:
    seen: dict[int, tuple[Mapping[str, list[str]], bool]] = {}
    for i, ids, consent in rows:
        seen.setdefault(i, (ids, consent))
    order = sorted(seen, reverse=True)
    data = {
        "customer_id": [f"c{i:02d}" for i in order],
        "consent": [seen[i][1] for i in order],
        **{k: pa.array([seen[i][0][k] for i in order], type=pa.list_(pa.string())) for k in KINDS},
    }
    return MemberTable(pa.table(data), {k: k for k in KINDS}, consent="consent")


def state_of(members: list[Member]) -> pa.Table:
    ordered = sorted(members, key=lambda m: m.customer_id)
    return pa.table(
        {
            "customer_id": [m.customer_id for m in ordered],
            "fingerprint": [member_fingerprint(m) for m in ordered],
            "consent": pa.array([m.consent for m in ordered], type=pa.bool_()),
            "sent_on": [""] * len(ordered),
            "ids_json": [identifiers_json(m.identifiers) for m in ordered],
        }
    )


def held(members: list[Member]) -> set[tuple[str, str]]:
    return {(kind, v) for m in members for kind, values in m.identifiers.items() for v in values if v}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=14), st.lists(ROW, max_size=14), st.booleans())
def test_identifiers_left_after_the_plan_are_exactly_the_after_members(before_rows, after_rows, columns):
    """A platform keyed by identifier, holding what the last sync left (every before-member's values): after the
    plan's adds then its removals (all of them, retained rows too), it holds exactly the after-members' values."""
    before = list(table_of(before_rows))
    after_table = table_of(after_rows)
    after = list(after_table)
    state = state_of(before)
    snapshot = Snapshot.from_members(after_table if columns else after, known=state if columns else None)
    plan = build_plan(snapshot, None, state, mode=SyncMode.MIRROR, snapshot_id="s")
    platform = held(before) | held(plan.adds)
    removed = held(plan.removes)
    assert not removed & held(after), "a removal names a value a member of the audience holds"
    assert platform - removed == held(after)
    assert all(any(values for values in m.identifiers.values()) for m in plan.removes)  # no empty removal


def test_a_departed_member_is_removed_by_its_own_identifiers_only():
    home, a_phone, b_phone = sha("home"), sha("a-phone"), sha("b-phone")
    a = Member("a", {"email": (home,), "phone": (a_phone,)})
    b = Member("b", {"email": (home,), "phone": (b_phone,)})
    twin = Member("t", {"email": (home,)})  # a duplicate profile: everything it has, b keeps
    joiner = Member("j", {"phone": (a_phone,)})  # a's old phone joins with someone new in the same plan
    state = state_of([a, b, twin])
    plan = build_plan(Snapshot.from_members([b]), None, state, mode=SyncMode.MIRROR, snapshot_id="s1")
    assert plan.removes == [Member("a", {"phone": (a_phone,)})]  # the twin names nothing of its own: not sent
    plan = build_plan(Snapshot.from_members([b, joiner]), None, state, mode=SyncMode.MIRROR, snapshot_id="s2")
    assert plan.removes == [] and plan.departed_members == 2
