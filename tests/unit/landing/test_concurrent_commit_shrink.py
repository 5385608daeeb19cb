"""A rerun that finds far fewer rows does not replace the partition (issue 16, defect 8); the replaced generation is
kept until the new one passes its gate, then released, or restored when it failed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.generations import (
    DEFAULT_GRACE,
    generation_of,
    generation_started,
    new_generation,
    release_previous,
    restore_previous,
)
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_manifest, read_table
from airflow_provider_cio.landing.shrink import PartitionShrink, ShrinkPolicy
from airflow_provider_cio.landing.writer import PartitionWriter, StaleWriter, write_table
from airflow_provider_cio.storage import MemoryObjectStore

REF = PartitionRef("landing", "dev", "ws1", "events", date(2026, 11, 1))


def rows(n: int, tag: str = "e") -> pa.Table:
    ts = datetime(2026, 11, 1, 12, tzinfo=UTC)
    return pa.table(
        {
            "event_id": [f"{tag}{i}" for i in range(n)],
            "customer_id": [f"c{i % 7}" for i in range(n)],
            "name": ["viewed_product"] * n,
            "product_id": ["p1"] * n,
            "cart_id": [None] * n,
            "value": [1.5] * n,
            "timestamp": [ts] * n,
        },
        schema=arrow_schema("events"),
    )


# -- defect 8: the regression on today's main -------------------------------------------------------------------
@pytest.mark.parametrize("rerun_rows", [0, 100], ids=["empty-or-header-only", "a-third"])
def test_a_rerun_that_finds_far_fewer_rows_fails_before_replacing_the_partition(rerun_rows: int) -> None:
    """Before: an empty (header-only) re-export replaced a 300-row partition and deleted its parts."""
    store = MemoryObjectStore()
    good = write_table(store, REF, rows(300), part_rows=100)
    with pytest.raises(
        ValueError, match=rf"found {rerun_rows} rows, .* has 300: {300 - rerun_rows} fewer"
    ) as caught:
        write_table(store, REF, rows(rerun_rows, "x"), part_rows=100)
    assert getattr(caught.value, "error_class", None) == "upstream_data"
    assert "allow_shrink" in str(caught.value)
    assert read_manifest(store, REF).generation == good.generation
    assert read_table(store, REF).num_rows == 300
    # nothing of the failed rerun is left behind, nothing of the good partition is gone
    assert sorted(store.list(REF.prefix + "/")) == sorted([p.path for p in good.parts] + [REF.manifest_path])


def test_a_rerun_within_the_contracts_allowance_replaces_and_the_override_replaces_anything() -> None:
    store = MemoryObjectStore()
    write_table(store, REF, rows(300), part_rows=100)
    within = write_table(store, REF, rows(271, "y"), shrink=ShrinkPolicy(max_shrink=0.1))
    assert read_manifest(store, REF).generation == within.generation
    with pytest.raises(PartitionShrink):
        write_table(store, REF, rows(243, "z"), shrink=ShrinkPolicy(max_shrink=0.1))
    emptied = write_table(store, REF, rows(0), shrink=ShrinkPolicy(allow_shrink=True))
    assert read_manifest(store, REF).rows == 0 and emptied.previous is not None
    assert emptied.previous["rows"] == 271  # the replaced generation is still there to restore


@given(
    committed=st.integers(min_value=0, max_value=10_000),
    new=st.integers(min_value=0, max_value=10_000),
    max_shrink=st.floats(min_value=0.0, max_value=1.0),
    allow=st.booleans(),
)
def test_the_shrink_guard_blocks_exactly_the_drops_above_the_allowance(
    committed: int, new: int, max_shrink: float, allow: bool
) -> None:
    policy = ShrinkPolicy(max_shrink=max_shrink, allow_shrink=allow)
    blocked = not allow and committed - new > committed * max_shrink
    if blocked:
        with pytest.raises(PartitionShrink) as caught:
            policy.check(
                "events dt=2026-11-01", committed_rows=committed, committed_generation="g", new_rows=new
            )
        assert f"found {new} rows" in str(caught.value) and f"has {committed}" in str(caught.value)
    else:
        policy.check("events dt=2026-11-01", committed_rows=committed, committed_generation="g", new_rows=new)


def test_a_shrink_policy_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ShrinkPolicy(max_shrink=1.5)


# -- the replaced generation: kept until the gate passes, then released; restorable when it fails ----------------
def test_the_replaced_generation_is_released_once_the_new_one_passes_its_gate() -> None:
    store = MemoryObjectStore()
    old = write_table(store, REF, rows(300), part_rows=100)
    new = write_table(store, REF, rows(300, "n"), part_rows=100)
    assert all(store.exists(p.path) for p in old.parts)
    store.write_bytes(f"{REF.quality_prefix}/result.json", b"{}")  # the new generation's verdict
    assert (
        release_previous(store, REF, old.generation) is None
    )  # not the committed generation: nothing happens
    assert all(store.exists(p.path) for p in old.parts)
    assert release_previous(store, REF, new.generation) == old.generation
    assert not any(store.exists(p.path) for p in old.parts)
    assert read_manifest(store, REF).previous is None
    assert store.exists(f"{REF.quality_prefix}/result.json")  # the gate's own report stays
    assert read_table(store, REF).num_rows == 300
    assert release_previous(store, REF, new.generation) is None  # twice is harmless


def test_a_generation_that_failed_its_gate_can_be_rolled_back_and_the_rollback_undone() -> None:
    store = MemoryObjectStore()
    good = write_table(store, REF, rows(300), part_rows=100)
    bad = write_table(store, REF, rows(300, "bad"), part_rows=100)
    restored = restore_previous(store, REF)
    assert restored.generation == good.generation
    assert read_table(store, REF).column("event_id").to_pylist()[0] == "e0"
    assert restore_previous(store, REF).generation == bad.generation
    with pytest.raises(LookupError, match="no previous generation"):
        fresh = MemoryObjectStore()
        write_table(fresh, REF, rows(5))
        restore_previous(fresh, REF)


def test_a_writer_older_than_the_sweep_grace_does_not_commit() -> None:
    store = MemoryObjectStore()
    good = write_table(store, REF, rows(300), part_rows=100)
    moments = iter([datetime.now(UTC), datetime.now(UTC) + DEFAULT_GRACE])
    stale = PartitionWriter(store, REF, arrow_schema("events"), source="test", clock=lambda: next(moments))
    stale.write_batch(rows(300, "s"))
    with pytest.raises(StaleWriter, match="grace period"):
        stale.commit()
    assert read_manifest(store, REF).generation == good.generation
    assert not any(stale.generation in name for name in store.list(REF.prefix))


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2199, 12, 31), timezones=st.just(UTC)))
def test_generation_ids_carry_their_start_time_to_the_millisecond(moment: datetime) -> None:
    generation = new_generation(moment)
    started = generation_started(generation)
    assert started is not None and abs(started - moment) < timedelta(milliseconds=1)
    assert generation_of(f"{REF.prefix}/part-{generation}-00007.parquet", REF) == generation
    assert generation_of(f"{REF.prefix}/_rejected/{generation}-00000.jsonl", REF) == generation


@given(st.text(max_size=30))
def test_names_that_are_not_generation_objects_have_no_generation_or_time(name: str) -> None:
    if generation_started(name) is not None:
        assert len(name) == 23 and name[:17].isdigit()
    assert generation_of(f"{REF.prefix}/_quality/{name}", REF) is None
    assert generation_of(f"{REF.prefix}/_manifest.json", REF) is None


# -- the sweep rule over generated partitions ----------------------------------------------------------------------
OTHER_KINDS = ("pushed_out", "uncommitted")  # besides the committed generation and its previous


@given(
    generations=st.lists(
        st.tuples(
            st.sampled_from(OTHER_KINDS), st.integers(min_value=0, max_value=24 * 60), st.integers(1, 3)
        ),
        min_size=2,
        max_size=8,
    ),
    reports=st.booleans(),
    drop_reports=st.booleans(),
)
def test_the_sweep_deletes_exactly_the_provably_dead(
    generations: list[tuple[str, int, int]], reports: bool, drop_reports: bool
) -> None:
    """Whatever lies under a partition: the committed and previous generations' objects and generations younger
    than the grace always stay; generations pushed out of ``previous`` and unreferenced ones older than the grace
    always go; reports go only when asked."""
    from airflow_provider_cio.landing.generations import sweep
    from airflow_provider_cio.landing.manifest import Manifest, PartFile

    now = datetime(2026, 12, 6, 18, tzinfo=UTC)
    store = MemoryObjectStore()
    kinds = ["current", "previous"] + [kind for kind, _, _ in generations[2:]]
    objects: dict[str, list[str]] = {}
    ids: list[str] = []
    for index, (_, minutes, parts) in enumerate(generations):
        generation = new_generation(now - timedelta(minutes=minutes, seconds=index))
        ids.append(generation)
        names = [f"{REF.prefix}/part-{generation}-{n:05d}.parquet" for n in range(parts)]
        names.append(f"{REF.prefix}/_rejected/{generation}-00000.jsonl")
        for name in names:
            store.write_bytes(name, b"x")
        objects[generation] = names

    def manifest(generation: str) -> Manifest:
        parts = [PartFile(n, 1, 1, "0") for n in objects[generation] if n.endswith(".parquet")]
        return Manifest(
            dataset="events", partition=REF.prefix, rows=len(parts), bytes=len(parts), parts=parts,
            schema=[], schema_version="1", source="test", produced_at=now.isoformat(), generation=generation,
            rejected_parts=[n for n in objects[generation] if n.endswith(".jsonl")],
        )  # fmt: skip

    current = manifest(ids[0])
    current.previous = manifest(ids[1]).as_previous()
    store.write_bytes(REF.manifest_path, current.to_json())
    if reports:
        store.write_bytes(f"{REF.quality_prefix}/result.json", b"{}")
    pushed_out = {g for g, kind in zip(ids, kinds, strict=True) if kind == "pushed_out"}
    sweep(store, REF, current, dead=pushed_out, now=now, drop_reports=drop_reports)

    left = set(store.list(REF.prefix + "/"))
    assert REF.manifest_path in left
    assert (f"{REF.quality_prefix}/result.json" in left) == (reports and not drop_reports)
    for (_, minutes, _), generation, kind in zip(generations, ids, kinds, strict=True):
        young = timedelta(minutes=minutes) < DEFAULT_GRACE - timedelta(seconds=10)
        kept = kind in ("current", "previous") or (kind == "uncommitted" and young)
        gone = kind == "pushed_out" or (kind == "uncommitted" and not young and minutes > 6 * 60)
        present = [name in left for name in objects[generation]]
        if kept:
            assert all(present), f"{kind} generation {minutes} min old lost objects"
        if gone:
            assert not any(present), f"{kind} generation {minutes} min old was left"
