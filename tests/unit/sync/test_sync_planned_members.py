"""A plan's adds and replace rows are snapshot positions: no ``Member`` is built until a batch reads them, and what
is read equals the members the plan stands for, in order, across chunk boundaries."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_cio.sync import SyncMode, planned_members
from airflow_provider_cio.sync.batching import make_batches
from airflow_provider_cio.sync.member_table import MemberTable
from airflow_provider_cio.sync.plan import build_plan
from airflow_provider_cio.sync.snapshot import Snapshot


class CountingTable(MemberTable):
    """A member table that counts the ``Member`` objects built from it."""

    built = 0

    def members_at(self, rows):  # type: ignore[no-untyped-def]
        CountingTable.built += len(rows)
        return super().members_at(rows)


def table(n: int) -> CountingTable:
    ids = list(range(n))[::-1]  # written out of order: the snapshot sorts
    return CountingTable(
        pa.table(
            {
                "customer_id": [f"c{i:05d}" for i in ids],
                "email": pa.array([[f"e{i}"] if i % 3 else [] for i in ids], type=pa.list_(pa.string())),
                "phone": pa.array([[f"p{i}", f"q{i}"] if i % 2 else [f"p{i}"] for i in ids]),
            }
        ),
        {"email": "email", "phone": "phone"},
    )


@pytest.mark.parametrize("mode", [SyncMode.MIRROR, SyncMode.REPLACE])
def test_a_plan_builds_no_member_until_read_and_reads_the_snapshot_in_order(mode, monkeypatch) -> None:
    monkeypatch.setattr(planned_members, "CHUNK_ROWS", 7)
    members = table(100)
    snapshot = Snapshot.from_members(members)
    CountingTable.built = 0
    plan = build_plan(snapshot, None, [], mode=mode, snapshot_id="s")
    assert plan.to_summary()["adds" if mode == SyncMode.MIRROR else "replace_rows"] == 100
    assert CountingTable.built == 0
    sent = plan.adds if mode == SyncMode.MIRROR else plan.replace_members
    expected = snapshot.members_at(range(100))
    assert [m.customer_id for m in expected] == sorted(m.customer_id for m in expected)
    assert list(sent) == expected and sent == expected
    assert sent[3:9] == expected[3:9] and sent[-1] == expected[-1] and sent[0] == expected[0]
    with pytest.raises(IndexError):
        sent[100]
    batches = list(make_batches(sent, 10, lambda m: sum(len(v) for v in m.identifiers.values())))
    assert [m for batch in batches for m in batch] == expected
    assert plan.added_ids() == ({m.customer_id for m in expected} if mode == SyncMode.MIRROR else set())


def test_only_new_and_changed_members_are_added_and_their_ids_need_no_member() -> None:
    members = table(50)
    known = Snapshot.from_members(members).keys
    state = known.append_column("sent_on", pa.array([""] * known.num_rows, type=pa.string()))
    data = members.table
    changed = data.set_column(
        data.schema.get_field_index("email"),
        "email",
        pa.array([[f"x{i}"] if i == 5 else v for i, v in enumerate(data.column("email").to_pylist())]),
    )
    snapshot = Snapshot.from_members(
        CountingTable(changed, {"email": "email", "phone": "phone"}), known=state
    )
    plan = build_plan(snapshot, None, state, mode=SyncMode.MIRROR, snapshot_id="s")
    CountingTable.built = 0
    assert plan.added_ids() == {data.column("customer_id")[5].as_py()}
    assert CountingTable.built == 0
    assert [m.identifiers["email"] for m in plan.adds] == [("x5",)]
