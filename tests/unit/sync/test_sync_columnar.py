"""The columnar sync core plans and stores exactly what the member-by-member merge-join did.

Generated snapshots (Hypothesis) go through ``MemberTable`` and through plain ``Member`` lists: same content id,
fingerprints, identifiers JSON and coverage; borrowing stored fingerprints never changes one; a mirror plan has the
adds and removes (in customer_id order) of a reference merge-join written here from the documented rules. States
of version 2 (gzip'd TSV) are still read, and the next state is Parquet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from meta_sync_support import make_members
from sync_request_support import sync_with

from airflow_provider_cio.sync import Guardrails, Member, SyncRequest
from airflow_provider_cio.sync.member_table import MemberTable
from airflow_provider_cio.sync.plan import SyncMode, build_plan
from airflow_provider_cio.sync.runner import ledger_prefix
from airflow_provider_cio.sync.snapshot import Snapshot, identifiers_json, member_fingerprint
from airflow_provider_cio.sync.state import StateStore

KINDS = ("email", "phone", "zip")
VALUE = st.one_of(
    st.sampled_from(["", "a" * 64, "b" * 64, "90210", 'q"uote', "back\\slash", "tab\tnl\n", "ünï", "\x01"]),
    st.text(max_size=6),
)
IDS = st.lists(VALUE, min_size=0, max_size=3)
ROW = st.tuples(st.integers(0, 40), st.fixed_dictionaries({k: IDS for k in KINDS}), st.booleans())


def table_of(rows: Sequence[tuple[int, Mapping[str, list[str]], bool]]) -> MemberTable:
    """A member table with one row per distinct id (the first wins), in a shuffled-looking order."""
    seen: dict[int, tuple[Mapping[str, list[str]], bool]] = {}
    for i, ids, consent in rows:
        seen.setdefault(i, (ids, consent))
    order = sorted(seen, key=lambda i: (i * 7919) % 41)
    data = {
        "customer_id": [f"c{i:03d}" for i in order],
        "consent": [seen[i][1] for i in order],
        **{kind: pa.array([seen[i][0][kind] for i in order], type=pa.list_(pa.string())) for kind in KINDS},
    }
    return MemberTable(pa.table(data), {k: k for k in KINDS}, consent="consent")


def reference_content_id(members: list[Member]) -> str:
    digest = hashlib.sha256()
    for m in sorted(members, key=lambda m: m.customer_id):
        digest.update(f"{m.customer_id}\t{member_fingerprint(m)}\n".encode())
    return digest.hexdigest()[:32]


def state_of(members: list[Member]) -> pa.Table:
    """A stored state (the columns ``StateStore.read_table`` returns) holding ``members``."""
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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=25), st.lists(ROW, max_size=25))
def test_columnar_snapshot_equals_the_member_by_member_one(rows: list, stored_rows: list) -> None:
    table = table_of(rows)
    members = list(table)
    known = state_of(list(table_of(stored_rows)))
    by_objects = Snapshot.from_members(members)
    by_columns = Snapshot.from_members(table, known=known)
    assert by_columns.content_id == by_objects.content_id == reference_content_id(members)
    assert by_columns.coverage() == by_objects.coverage()
    for name in ("customer_id", "fingerprint", "consent"):
        assert by_columns.keys.column(name).to_pylist() == by_objects.keys.column(name).to_pylist(), name
    assert [e.member for e in by_columns.entries] == sorted(members, key=lambda m: m.customer_id)
    assert by_columns.keys.column("ids_json").to_pylist() == [
        identifiers_json(m.identifiers) for m in sorted(members, key=lambda m: m.customer_id)
    ]


def reference_mirror(old: list[Member], new: list[Member]) -> tuple[list[Member], list[Member]]:
    """The merge-join's mirror rules: add new and changed members; remove departed members whole and, for changed
    members, only the identifier values they lost (retained); both in customer_id order. No removal names a value
    a snapshot member holds (a removal left with nothing is not sent)."""
    before = {m.customer_id: m for m in old}
    adds, removes = [], []
    for m in sorted(new, key=lambda m: m.customer_id):
        prior = before.get(m.customer_id)
        if prior is None or member_fingerprint(prior) != member_fingerprint(m):
            adds.append(m)
    after = {m.customer_id for m in new}
    now = {m.customer_id: m for m in new}
    for cid in sorted(before):
        prior = before[cid]
        if cid not in after:
            removes.append(_stored(prior))
        elif member_fingerprint(prior) != member_fingerprint(now[cid]):
            lost = {}
            for kind, values in json.loads(identifiers_json(prior.identifiers)).items():
                kept = set(now[cid].identifiers.get(kind, ()))
                gone = tuple(v for v in values if v not in kept)
                if gone:
                    lost[kind] = gone
            if lost:
                removes.append(Member(cid, lost, consent=prior.consent, retained=True))
    return adds, [spared for m in removes if (spared := _sparing(m, new)) is not None]


def _sparing(removal: Member, new: list[Member]) -> Member | None:
    """A removal without the values any member of the snapshot holds (same kind); None when nothing is left."""
    kept = {}
    for kind, values in removal.identifiers.items():
        held = {v for m in new for v in m.identifiers.get(kind, ())}
        if free := tuple(v for v in values if v and v not in held):
            kept[kind] = free
    return dataclasses.replace(removal, identifiers=kept) if kept else None


def _stored(member: Member) -> Member:
    """A member as the state gives it back: canonical identifiers."""
    ids = {k: tuple(v) for k, v in json.loads(identifiers_json(member.identifiers)).items()}
    return Member(member.customer_id, ids, consent=member.consent)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=25), st.lists(ROW, max_size=25))
def test_mirror_plan_matches_the_reference_merge_join(old_rows: list, new_rows: list) -> None:
    old, new_table = list(table_of(old_rows)), table_of(new_rows)
    state = state_of(old)
    snapshot = Snapshot.from_members(new_table, known=state)
    plan = build_plan(snapshot, None, state, mode=SyncMode.MIRROR, snapshot_id="s")
    adds, removes = reference_mirror(old, list(new_table))
    assert plan.adds == adds
    assert plan.removes == removes
    assert plan.new_members + plan.changed_members == len(adds)
    assert plan.new_members + plan.changed_members + plan.unchanged_members == len(snapshot)


def test_a_version_2_state_is_read_and_the_next_one_is_parquet(destination, store) -> None:
    sync = sync_with(
        SyncRequest(audience_name="aud", members=(), guards=Guardrails(min_size=1), quality_passed=True)
    )
    sync(destination, store, members=make_members(range(30)))
    states = StateStore(store, ledger_prefix("ledger", "meta", "aud"))
    info = states.load()
    assert info is not None
    lines = "".join(line.raw + "\n" for line in states.iter_lines(info))  # the version 2 line format
    deflater = zlib.compressobj(wbits=31)
    legacy = info.members_path.replace(".parquet", ".tsv.gz")
    store.write_bytes(legacy, deflater.compress(lines.encode()) + deflater.flush())
    pointer = {**dataclasses.asdict(info), "members_path": legacy, "version": 2, "snapshot_id": "older"}
    store.write_bytes(states.pointer_path, json.dumps(pointer).encode())

    report = sync(destination, store, members=make_members(range(2, 33)))
    assert (report.plan["adds"], report.plan["removes"], report.rows_sent) == (3, 2, 5)
    after = StateStore(store, ledger_prefix("ledger", "meta", "aud")).load()
    assert after is not None and after.members_path.endswith(".parquet") and after.size == 31
    stored = [line.customer_id for line in states.iter_lines(after)]
    assert stored == [m.customer_id for m in make_members(range(2, 33))]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.lists(st.one_of(st.none(), VALUE), max_size=3)), max_size=20),
    st.integers(0, 5),
    st.integers(0, 20),
)
def test_first_values_read_from_the_offsets_of_sliced_and_chunked_lists(
    rows: list, start: int, split: int
) -> None:
    """A snapshot's list columns may come sliced or in several chunks: each row's first value ("" for an empty
    or null list or a null value) and its length (0 for null) are read from the offsets either way."""
    from airflow_provider_cio.sync.snapshot import _first_values

    whole = pa.array(rows, type=pa.list_(pa.string())).slice(min(start, len(rows)))
    cut = min(split, len(whole))
    column = pa.chunked_array([whole.slice(0, cut), whole.slice(cut)], type=whole.type)
    first, length = _first_values(column)
    expected = whole.to_pylist()
    assert first.to_pylist() == [(values[0] or "") if values else "" for values in expected]
    assert length.tolist() == [len(values) if values is not None else 0 for values in expected]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), VALUE), min_size=1, max_size=20), st.integers(0, 5), st.integers(0, 20))
def test_first_values_of_one_value_lists_are_their_values_sliced_or_chunked(
    values: list, start: int, split: int
) -> None:
    """Lists of exactly one value each are read as a slice of their values (no copy): from the slice's own
    offset, in each chunk."""
    from airflow_provider_cio.sync.snapshot import _first_values

    whole = pa.array([[v] for v in values], type=pa.list_(pa.string())).slice(min(start, len(values) - 1))
    cut = min(split, len(whole))
    column = pa.chunked_array([whole.slice(0, cut), whole.slice(cut)], type=whole.type)
    first, length = _first_values(column)
    assert first.to_pylist() == [v or "" for v in values[min(start, len(values) - 1) :]]
    assert length.tolist() == [1] * len(whole)


CUSTOMER_ID = st.one_of(
    st.text(alphabet="abc019-_\t", min_size=1, max_size=5),
    st.text(min_size=1, max_size=3),  # non-ASCII, NUL: the hash lookup
    st.text(alphabet="ab", min_size=60, max_size=70),  # around the fixed-width limit
)


@settings(max_examples=60, deadline=None)
@given(st.lists(CUSTOMER_ID, max_size=30), st.lists(CUSTOMER_ID, max_size=30), st.booleans())
def test_positions_in_the_stored_state_are_those_of_a_hash_lookup(
    new: list[str], stored: list[str], sort_stored: bool
) -> None:
    """The join of a snapshot's customer ids to the stored state's finds each id's stored row (or -1) whichever
    way it runs: fixed-width binary search (sorted ASCII ids) or Arrow's hash lookup (anything else)."""
    import pyarrow.compute as pc

    from airflow_provider_cio.sync.snapshot import positions_in

    unique = list(dict.fromkeys(stored))
    held = pa.array(sorted(unique, key=lambda v: v.encode()) if sort_stored else unique, type=pa.string())
    cids = pa.array(new, type=pa.string())
    expected = pc.fill_null(pc.index_in(cids, value_set=held), -1).to_pylist()
    assert positions_in(cids, held).tolist() == expected


TAIL = st.tuples(
    st.booleans(), st.text(alphabet="ab09z", max_size=10)
)  # (under the shared prefix?, the rest)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="cust-0", max_size=12), st.lists(TAIL, max_size=30), st.lists(TAIL, max_size=30))
def test_positions_of_sorted_ids_sharing_a_prefix_are_those_of_a_hash_lookup(
    prefix: str, new: list[tuple[bool, str]], stored: list[tuple[bool, str]]
) -> None:
    """Sorted ids that share a prefix are searched as integers of the bytes after it (when at most 8 remain): the
    positions must still be a hash lookup's, whatever the prefix, the tails' lengths and the ids outside it."""
    import pyarrow.compute as pc

    from airflow_provider_cio.sync.snapshot import positions_in

    def ids(tails: list[tuple[bool, str]]) -> pa.Array:
        return pa.array(
            sorted({(prefix if under else "") + tail for under, tail in tails} - {""}), type=pa.string()
        )

    cids, held = ids(new), ids(stored)
    expected = pc.fill_null(pc.index_in(cids, value_set=held), -1).to_pylist()
    assert positions_in(cids, held).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet="ab\t\n\r\x0b\x0e\x1f ", min_size=1, max_size=4),
        min_size=1,
        max_size=12,
        unique=True,
    )
)
def test_a_customer_id_with_a_tab_or_line_break_is_refused_from_columns(cids: list[str]) -> None:
    """Ids from a column table are checked for tab, LF and CR by a byte-range pass first: other control characters
    (below and above CR) pass, those three are refused wherever they sit."""
    table = MemberTable(
        pa.table({"customer_id": cids, "email": pa.array([["e"]] * len(cids), type=pa.list_(pa.string()))}),
        {"email": "email"},
    )
    if any(ch in cid for cid in cids for ch in "\t\n\r"):
        with pytest.raises(ValueError, match="tab/newline"):
            Snapshot.from_members(table)
    else:
        assert len(Snapshot.from_members(table)) == len(cids)


ESCAPABLE = st.text(alphabet='0af"\\\x00\x1f\x7fé', max_size=4)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(ESCAPABLE, max_size=2), st.lists(ESCAPABLE, max_size=2)), min_size=1, max_size=20
    )
)
def test_column_snapshot_json_and_fingerprints_are_the_members_own_with_escaped_bytes(rows: list) -> None:
    """Values holding a quote, a backslash or a control character are escaped in the identifiers JSON exactly as
    ``identifiers_json`` does, and fingerprinted as ``member_fingerprint`` does, however few rows hold them."""
    from airflow_provider_cio.sync.snapshot import identifiers_json, member_fingerprint

    table = MemberTable(
        pa.table(
            {
                "customer_id": [f"c{i:03d}" for i in range(len(rows))],
                "email": pa.array([r[0] for r in rows], type=pa.list_(pa.string())),
                "phone": pa.array([r[1] for r in rows], type=pa.list_(pa.string())),
            }
        ),
        {"email": "email", "phone": "phone"},
    )
    members = {m.customer_id: m for m in table}
    keys = Snapshot.from_members(table).keys.to_pylist()
    assert [k["customer_id"] for k in keys] == sorted(members)
    for key in keys:
        member = members[key["customer_id"]]
        assert key["ids_json"] == identifiers_json(member.identifiers)
        assert key["fingerprint"] == member_fingerprint(member)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab9-é", min_size=1, max_size=4), max_size=20, unique=True), st.booleans())
def test_the_content_id_is_the_hash_of_its_lines_for_fixed_and_mixed_width_ids(
    cids: list[str], pad: bool
) -> None:
    """Ids of one length take a numpy layout of the lines, others Arrow's join: both hash the same bytes."""
    from airflow_provider_cio.sync.snapshot import FINGERPRINT_HEX, _content_id

    ids = sorted({c.replace("é", "e").ljust(4, "x") for c in cids} if pad else set(cids))  # pad: one width
    fps = [hashlib.sha256(c.encode()).hexdigest()[:FINGERPRINT_HEX] for c in ids]
    keys = pa.table(
        {"customer_id": pa.array(ids, type=pa.string()), "fingerprint": pa.array(fps, type=pa.string())}
    )
    lines = "".join(f"{c}\t{f}\n" for c, f in zip(ids, fps, strict=True)).encode()
    assert _content_id(keys) == hashlib.sha256(lines).hexdigest()[:32]
    chunked = pa.Table.from_batches(keys.to_batches(max_chunksize=3), schema=keys.schema) if ids else keys
    assert _content_id(chunked) == _content_id(keys)
    import airflow_provider_cio.sync.snapshot as snapshot

    saved, snapshot.SLICE_ROWS = snapshot.SLICE_ROWS, 3  # lines laid out 3 rows at a time
    try:
        assert _content_id(keys) == hashlib.sha256(lines).hexdigest()[:32]
    finally:
        snapshot.SLICE_ROWS = saved
