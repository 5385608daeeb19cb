"""Two or more writers of one partition, and readers beside them (issue 16, defect 2), on the in-memory store, which
checks conditional writes as Blob Storage does. The Azurite form is tests/reliability/test_chaos_concurrent_landing.py.

Each writer lands rows of its own (``w<i>-<row>``), so a read tells which generation it saw and whether it was whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.manifest import Manifest
from airflow_provider_cio.landing.reader import read_manifest, read_table
from airflow_provider_cio.landing.shrink import ShrinkPolicy
from airflow_provider_cio.landing.writer import ConcurrentCommit, PartitionWriter, write_table
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.storage.base import PreconditionFailed, ReadRefused, Versioned

REF = PartitionRef("landing", "dev", "ws1", "events", date(2026, 11, 1))
PART_ROWS = 100
SCHEMA = arrow_schema("events")


def rows(tag: str, n: int, start: int = 0) -> pa.Table:
    ts = datetime(2026, 11, 1, 12, tzinfo=UTC)
    return pa.table(
        {
            "event_id": [f"{tag}-{i}" for i in range(start, start + n)],
            "customer_id": [f"c{i % 7}" for i in range(n)],
            "name": ["viewed_product"] * n,
            "product_id": ["p1"] * n,
            "cart_id": [None] * n,
            "value": [1.5] * n,
            "timestamp": [ts] * n,
        },
        schema=SCHEMA,
    )


def writer(store: MemoryObjectStore, **options: object) -> PartitionWriter:
    return PartitionWriter(store, REF, SCHEMA, source="test", part_rows=PART_ROWS, **options)  # type: ignore[arg-type]


def upload_part(w: PartitionWriter, tag: str, index: int) -> None:
    """One whole part, uploaded before returning (the writer's threads settled)."""
    w.write_batch(rows(tag, PART_ROWS, index * PART_ROWS))
    w._settle_encoder()
    w._drain()


def assert_one_whole_generation(table: pa.Table, expected: dict[str, int]) -> str:
    """Every row from one writer, and all of that writer's rows; returns the writer's tag."""
    tags = {event_id.rsplit("-", 1)[0] for event_id in table.column("event_id").to_pylist()}
    assert len(tags) == 1, f"a read mixed generations: {sorted(tags)}"
    tag = tags.pop()
    assert table.num_rows == expected[tag], f"a read of {tag} saw {table.num_rows} of {expected[tag]} rows"
    assert len(set(table.column("event_id").to_pylist())) == table.num_rows
    return tag


def assert_referenced_parts_exist(store: MemoryObjectStore) -> None:
    """The committed generation and the one it keeps as previous are both whole on the store."""
    manifest = read_manifest(store, REF)
    previous = manifest.previous_manifest()
    for kept in [manifest] + ([previous] if previous else []):
        for part in kept.parts:
            assert store.exists(part.path), f"generation {kept.generation} lists a deleted part"


# -- defect 2: the regression on today's main -------------------------------------------------------------------
def test_two_writers_whose_parts_overlap_leave_one_whole_generation_and_keep_the_winners_parts() -> None:
    """A retry beside a backfill: both upload parts, A commits, then B. Before: A's sweep deleted B's parts and
    B's manifest then listed deleted parts (PartitionCorrupt); now B's commit follows A's and A stays readable as
    B's previous."""
    store = MemoryObjectStore()
    write_table(store, REF, rows("w0", 300), part_rows=PART_ROWS)
    a, b = writer(store), writer(store)
    for index in range(3):
        upload_part(a, "w1", index)
        upload_part(b, "w2", index)
    first = a.commit()
    second = b.commit()
    assert assert_one_whole_generation(read_table(store, REF), {"w2": 300}) == "w2"
    assert second.previous is not None and second.previous["generation"] == first.generation
    assert_referenced_parts_exist(store)
    # the original generation was pushed out of ``previous`` by the second commit: swept
    assert not any("w0" in name for name in store.list(REF.prefix))
    assert len([n for n in store.list(REF.prefix + "/") if "/part-" in n]) == 6


# -- the conditional write ---------------------------------------------------------------------------------------
class CommitBetween(MemoryObjectStore):
    """Runs ``hook`` once, right after a writer reads the committed manifest for its commit: the window a
    concurrent commit lands in."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Callable[[], None] | None = None

    def read_versioned(self, path: str) -> Versioned:
        try:
            return super().read_versioned(path)
        finally:
            hook, self.hook = self.hook, None
            if hook is not None and path == REF.manifest_path:
                hook()


def test_a_writer_that_loses_the_manifest_race_follows_the_winner_without_deleting_its_parts() -> None:
    store = CommitBetween()
    write_table(store, REF, rows("w0", 300), part_rows=PART_ROWS)
    a, b = writer(store), writer(store)
    for index in range(3):
        upload_part(a, "w1", index)
        upload_part(b, "w2", index)
    committed: list[Manifest] = []
    store.hook = lambda: committed.append(a.commit())  # A commits between B's read and B's write
    final = b.commit()
    assert committed and final.previous is not None
    assert final.previous["generation"] == committed[0].generation  # B re-read and replaced A, not w0
    assert_one_whole_generation(read_table(store, REF), {"w2": 300})
    assert_referenced_parts_exist(store)


def test_a_merging_writer_overtaken_by_a_commit_stops_and_deletes_only_its_own_parts() -> None:
    """Rows merged from generation G (a data-out merge) must not replace a generation committed after G."""
    store = MemoryObjectStore()
    base = write_table(store, REF, rows("w0", 300), part_rows=PART_ROWS)
    merging = writer(store, replaces=base.generation)
    for index in range(3):
        upload_part(merging, "w2", index)
    winner = write_table(store, REF, rows("w1", 300), part_rows=PART_ROWS)
    with pytest.raises(ConcurrentCommit, match=r"derived from generation") as caught:
        merging.commit()
    assert caught.value.error_class == "platform"
    assert read_manifest(store, REF).generation == winner.generation
    assert_one_whole_generation(read_table(store, REF), {"w1": 300})
    assert not any(merging.generation in name for name in store.list(REF.prefix))
    assert_referenced_parts_exist(store)


def test_the_first_commit_of_a_partition_is_create_only() -> None:
    """Two first landings: A commits between B's read (no manifest) and B's write; B's If-None-Match fails, B
    re-reads, finds A's manifest and replaces it whole (A kept as previous)."""
    store = CommitBetween()
    a, b = writer(store), writer(store)
    upload_part(a, "w1", 0)
    upload_part(b, "w2", 0)
    committed: list[Manifest] = []
    store.hook = lambda: committed.append(a.commit())
    second = b.commit()
    assert committed and committed[0].previous is None
    assert second.previous is not None and second.previous["generation"] == committed[0].generation
    assert_one_whole_generation(read_table(store, REF), {"w2": PART_ROWS})
    assert_referenced_parts_exist(store)


# -- any interleaving of writers (Hypothesis picks the schedule) --------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schedule=st.lists(st.integers(min_value=0, max_value=2), min_size=0, max_size=12),
    parts=st.lists(st.integers(min_value=1, max_value=3), min_size=3, max_size=3),
)
def test_any_interleaving_of_three_writers_keeps_the_partition_whole_after_every_step(
    schedule: list[int], parts: list[int]
) -> None:
    """Each writer uploads its parts then commits; after every step a reader sees one whole generation, the
    committed and previous generations are complete on the store, and every commit succeeds."""
    store = MemoryObjectStore()
    write_table(store, REF, rows("w0", 300), part_rows=PART_ROWS)
    expected = {"w0": 300} | {f"w{i + 1}": n * PART_ROWS for i, n in enumerate(parts)}
    writers = [writer(store, shrink=ShrinkPolicy(allow_shrink=True)) for _ in parts]
    steps = [0] * len(parts)
    order: list[str] = []
    # the drawn schedule first, then every writer finishes in turn
    for index in schedule + [i for i, n in enumerate(parts) for _ in range(n + 1)]:
        if steps[index] > parts[index]:
            continue
        tag = f"w{index + 1}"
        if steps[index] < parts[index]:
            upload_part(writers[index], tag, steps[index])
        else:
            writers[index].commit()
            order.append(tag)
        steps[index] += 1
        assert_one_whole_generation(read_table(store, REF), expected)
        assert_referenced_parts_exist(store)
    assert len(order) == len(parts)
    assert assert_one_whole_generation(read_table(store, REF), expected) == order[-1]


# -- threads: writers and readers at once, repeated --------------------------------------------------------------
class SlowStore(MemoryObjectStore):
    """Yields the GIL around every request so that threads interleave inside reads, commits and sweeps."""

    def read_versioned(self, path: str) -> Versioned:
        threading.Event().wait(0.0005)
        return super().read_versioned(path)

    def open_chunks(self, path: str) -> Iterator[bytes]:
        threading.Event().wait(0.0005)
        yield from super().open_chunks(path)

    def delete(self, path: str) -> None:
        threading.Event().wait(0.0002)
        super().delete(path)


def land_and_read_concurrently(store: MemoryObjectStore, writers: int, readers: int, reads: int) -> list[str]:
    """``writers`` landings of one partition at once while ``readers`` read it; returns the tags readers saw."""
    expected = {"w0": 300} | {f"w{i + 1}": (i % 3 + 1) * PART_ROWS for i in range(writers)}
    errors: list[BaseException] = []
    seen: list[str] = []
    start = threading.Barrier(writers + readers)

    def land(index: int) -> None:
        try:
            start.wait()
            tag = f"w{index + 1}"
            w = writer(store, shrink=ShrinkPolicy(allow_shrink=True))
            for part in range(expected[tag] // PART_ROWS):
                upload_part(w, tag, part)
            w.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def read() -> None:
        try:
            start.wait()
            for _ in range(reads):
                seen.append(assert_one_whole_generation(read_table(store, REF), expected))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=land, args=(i,)) for i in range(writers)]
    threads += [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert_one_whole_generation(read_table(store, REF), expected)
    assert_referenced_parts_exist(store)
    return seen


def test_concurrent_landings_of_one_partition_while_readers_read_repeated() -> None:
    store = SlowStore()
    write_table(store, REF, rows("w0", 300), part_rows=PART_ROWS)
    seen: list[str] = []
    for _ in range(5):
        seen += land_and_read_concurrently(store, writers=4, readers=2, reads=6)
    assert len(seen) == 5 * 2 * 6


# -- write-only credentials (a container SAS with create+write): no read, list or delete ---------------------------
class WriteOnly(MemoryObjectStore):
    def read_versioned(self, path: str) -> Versioned:
        raise ReadRefused(path)

    def list(self, prefix: str) -> list[str]:
        raise PermissionError(prefix)

    def delete(self, path: str) -> None:
        raise PermissionError(path)


def test_write_only_writers_of_one_partition_each_commit_whole_and_delete_nothing() -> None:
    store = WriteOnly()
    a, b = writer(store), writer(store)
    for index in range(3):
        upload_part(a, "w1", index)
        upload_part(b, "w2", index)
    first, second = a.commit(), b.commit()
    assert first.previous is None and second.previous is None  # nothing could be read to keep
    readable = MemoryObjectStore()
    readable._objects, readable._etags = store._objects, store._etags
    assert assert_one_whole_generation(read_table(readable, REF), {"w2": 300}) == "w2"
    assert all(readable.exists(p.path) for p in first.parts + second.parts)
    merging = writer(store, replaces=second.generation)
    upload_part(merging, "w3", 0)
    with pytest.raises(ConcurrentCommit, match="may not read"):
        merging.commit()
    assert read_manifest(readable, REF).generation == second.generation


# -- a reader overtaken --------------------------------------------------------------------------------------------
class CommitsDuringRead(MemoryObjectStore):
    """Before the first part is streamed to a reader, runs ``commits`` (each a whole landing)."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[Callable[[], object]] = []

    def open_chunks(self, path: str) -> Iterator[bytes]:
        pending, self.commits = self.commits, []
        for commit in pending:
            commit()
        return super().open_chunks(path)


def test_a_reader_overtaken_by_two_commits_starts_over_on_the_generation_committed_now() -> None:
    """The generation being read is swept by the second commit (pushed out of ``previous``); the reader reads the
    manifest again and returns the newest generation whole, never a mix and never PartitionCorrupt."""
    store = CommitsDuringRead()
    write_table(store, REF, rows("w0", 300), part_rows=PART_ROWS)
    store.commits = [
        lambda: write_table(store, REF, rows("w1", 300), part_rows=PART_ROWS),
        lambda: write_table(store, REF, rows("w2", 300), part_rows=PART_ROWS),
    ]
    table = read_table(store, REF)
    assert not store.commits  # the commits did run in the middle of the read
    assert assert_one_whole_generation(table, {"w0": 300, "w1": 300, "w2": 300}) == "w2"


def test_a_part_missing_under_an_unchanged_manifest_is_still_corruption() -> None:
    from airflow_provider_cio.landing.reader import PartitionCorrupt

    store = MemoryObjectStore()
    manifest = write_table(store, REF, rows("w0", 300), part_rows=PART_ROWS)
    store.delete(manifest.parts[1].path)
    with pytest.raises(PartitionCorrupt, match="is missing"):
        read_table(store, REF)


class LostAnswer(MemoryObjectStore):
    """The first manifest write is applied but its answer is lost (the SDK's retry then meets a changed ETag)."""

    lost = False

    def write_bytes(self, path: str, data: object, **kwargs: object) -> None:  # type: ignore[override]
        super().write_bytes(path, data, **kwargs)  # type: ignore[arg-type]
        if path == REF.manifest_path and not self.lost:
            self.lost = True
            raise PreconditionFailed(path)


def test_a_commit_whose_answer_was_lost_is_recognised_and_keeps_the_generation_it_replaced() -> None:
    store = LostAnswer()
    store.lost = True
    good = write_table(store, REF, rows("w0", 300), part_rows=PART_ROWS)
    store.lost = False
    rerun = write_table(store, REF, rows("w1", 300), part_rows=PART_ROWS)
    manifest = read_manifest(store, REF)
    assert manifest.generation == rerun.generation
    assert manifest.previous is not None and manifest.previous["generation"] == good.generation
    assert_referenced_parts_exist(store)


class ReadGatesLastPart(MemoryObjectStore):
    """A part upload that finishes only once the committed manifest has been read: a writer that reads the manifest
    after its uploads, not beside them, would wait here until the timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.manifest_read = threading.Event()

    def read_versioned(self, path: str) -> Versioned:
        if path == REF.manifest_path:
            self.manifest_read.set()
        return super().read_versioned(path)

    def write_bytes(self, path: str, data: object, **kwargs: object) -> None:  # type: ignore[override]
        if path.endswith(".parquet") and not self.manifest_read.wait(timeout=10):
            raise TimeoutError("the part upload waited 10 s for the manifest read")
        super().write_bytes(path, data, **kwargs)  # type: ignore[arg-type]


def test_the_committed_manifest_is_read_while_the_last_part_uploads() -> None:
    store = ReadGatesLastPart()
    a = writer(store)
    a.write_batch(rows("w1", 50))  # under a part's rows: its only part is cut and uploaded by commit()
    manifest = a.commit()
    assert manifest.rows == 50 and len(manifest.parts) == 1
    assert_one_whole_generation(read_table(store, REF), {"w1": 50})
