"""No removal names an identifier a member who stays (or joins) holds: platforms key memberships by hashed
identifier, so a departed member's shared email (a household, a shared inbox, a duplicate profile) would take the
member who keeps it. Where a platform merges uploads sharing a value into one user and a removal takes the whole
user (Customer Match's "member" reading), the members a removal may take are sent again by the next run.
Generated before/after tables share values on purpose (a pool of a few values per kind)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from meta_sync_support import sha

from airflow_provider_cio.sync import Member
from airflow_provider_cio.sync.member_table import MemberTable
from airflow_provider_cio.sync.next_state import next_state
from airflow_provider_cio.sync.plan import SyncMode, SyncPlan, build_plan
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
            "customer_id": pa.array([m.customer_id for m in ordered], pa.string()),
            "fingerprint": pa.array([member_fingerprint(m) for m in ordered], pa.string()),
            "consent": pa.array([m.consent for m in ordered], type=pa.bool_()),
            "sent_on": pa.array([""] * len(ordered), pa.string()),
            "ids_json": pa.array([identifiers_json(m.identifiers) for m in ordered], pa.string()),
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


Key = tuple[str, str]


def keys_of(member: Member) -> set[Key]:
    return {(kind, v) for kind, values in member.identifiers.items() for v in values if v}


def upload(users: list[set[Key]], member: Member) -> list[set[Key]]:
    """A platform that merges an upload into every stored user sharing a value with it."""
    keys = keys_of(member)
    if not keys:
        return users
    merged = set(keys).union(*(user for user in users if user & keys))
    return [user for user in users if not user & keys] + [merged]


def merging_platform(users: list[set[Key]], plan: SyncPlan) -> list[set[Key]]:
    """A merging platform whose removal drops every user holding a value it names (the Google emulator's
    ``removal_match="member"``), applying a plan as the destinations send it: adds first, then the removals but
    the retained ones (a member who stays is never named)."""
    for member in plan.adds:
        users = upload(users, member)
    for removal in plan.removes:
        if not removal.retained:
            users = [user for user in users if not user & keys_of(removal)]
    return users


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=14), st.lists(ROW, max_size=14), st.booleans())
def test_on_a_platform_that_merges_uploads_the_next_run_brings_back_everyone_a_removal_took(
    before_rows, after_rows, columns
):
    """The run after a mirror run (same snapshot) leaves the merging platform holding every member's values (those a
    departed member's removal took with it were marked and are sent again; nobody else is) and nothing else but
    the values members who stay lost (never removed: they lapse)."""
    before = list(table_of(before_rows))
    after_table = table_of(after_rows)
    after = list(after_table)
    users: list[set[Key]] = []
    for member in before:  # what the last sync left
        users = upload(users, member)
    state = state_of(before)
    snapshot = Snapshot.from_members(after_table if columns else after, known=state if columns else None)
    plan = build_plan(snapshot, None, state, mode=SyncMode.MIRROR, snapshot_id="s1")
    users = merging_platform(users, plan)
    stored, _ = next_state(
        snapshot,
        plan.diff,
        sent=plan.added_ids(),
        unapplied=set(),
        departed_kept=False,
        unapplied_absent=False,
        today="2026-12-02",
        default_sent_on="2026-12-01",
        resend=plan.resend_next,
    )
    again = Snapshot.from_members(after_table if columns else after, known=stored if columns else None)
    next_plan = build_plan(again, None, stored, mode=SyncMode.MIRROR, snapshot_id="s1")
    users = merging_platform(users, next_plan)
    lingering = held([removal for removal in plan.removes if removal.retained])
    assert held(after) <= set().union(*users) <= held(after) | lingering
    assert next_plan.removes == [] and next_plan.resent_members == len(plan.resend_next)
    assert next_plan.added_ids() == plan.resend_next


def test_the_members_merged_with_a_leaver_through_a_chain_of_shared_values_are_sent_again():
    """a leaves; b shares a's email, c shares b's phone: on a merging platform all three are one user, and the
    removal of a's own phone takes b and c. d shares nothing and is not sent again."""
    home, b_phone = sha("home"), sha("b-phone")
    a = Member("a", {"email": (home,), "phone": (sha("a-phone"),)})
    b = Member("b", {"email": (home,), "phone": (b_phone,)})
    c = Member("c", {"email": (sha("c"),), "phone": (b_phone,)})
    d = Member("d", {"email": (sha("d"),)})
    plan = build_plan(
        Snapshot.from_members([b, c, d]), None, state_of([a, b, c, d]), mode=SyncMode.MIRROR, snapshot_id="s"
    )
    assert plan.removes == [Member("a", {"phone": (sha("a-phone"),)})]
    assert plan.resend_next == {"b", "c"}
    assert plan.to_summary()["resend_next_run"] == 2
