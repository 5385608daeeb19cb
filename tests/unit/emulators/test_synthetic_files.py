"""Native files Customer.io writes (data-out, Data Pipelines storage), emulated from a synthetic workspace."""

from __future__ import annotations

import io
import json
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from airflow_provider_cio.customerio.dataout_format import (
    DATAOUT_KEYS,
    dataout_arrow_schema,
    parse_dataout_name,
    parse_pipelines_name,
)
from airflow_provider_cio.storage import MemoryObjectStore, PreconditionFailed
from cio_devkit.emulators.synthetic import (
    SyntheticWorkspace,
    generate_workspace,
    write_dataout_files,
    write_pipelines_files,
)


@pytest.fixture(scope="module")
def ws() -> SyntheticWorkspace:
    return generate_workspace(people=500, seed=9, start=date(2024, 3, 1), days=7)


def _read(store: MemoryObjectStore, path: str) -> pa.Table:
    return pq.read_table(io.BytesIO(store.read_bytes(path)))


def _alive(ws: SyntheticWorkspace) -> pa.Table:
    """The people a first data-out sync sends: not deleted, not suppressed (Customer.io's data-out page)."""
    p = ws.people
    return p.filter(pc.invert(pc.or_(p["deleted"], p["suppressed"])))


def _last_per_key(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    rows = table.to_pylist()
    last: dict[tuple[object, ...], dict[str, object]] = {}
    for row in rows:
        last[tuple(row[k] for k in keys)] = row
    return pa.Table.from_pylist(list(last.values()), schema=table.schema)


def test_dataout_files_are_named_versioned_and_ordered(ws: SyntheticWorkspace) -> None:
    store = MemoryObjectStore()
    paths = write_dataout_files(ws, store, "cio/dataout/", files_per_dataset=3)

    assert len(paths) == 15 and store.list("cio/dataout/") == sorted(paths)
    parsed = [parse_dataout_name(p) for p in paths]
    assert all(p is not None and p.version == 4 and p.workspace_id == ws.workspace_id for p in parsed)
    for dataset in ("deliveries", "metrics", "subjects", "people", "attributes"):
        files = [p for p in parsed if p is not None and p.dataset == dataset]
        assert len(files) == 3 and [f.sequence for f in files] == sorted(f.sequence for f in files)
        for f in files:
            assert _read(store, f"cio/dataout/{f.name}").schema.equals(dataout_arrow_schema(dataset))


def test_later_files_resend_rows_with_newer_seq_num(ws: SyntheticWorkspace) -> None:
    store = MemoryObjectStore()
    paths = write_dataout_files(ws, store, "out", files_per_dataset=3, update_fraction=0.1)
    people = pa.concat_tables([_read(store, p) for p in paths if "/people_" in p])
    deliveries = pa.concat_tables([_read(store, p) for p in paths if "/deliveries_" in p])

    alive = _alive(ws).num_rows
    assert people.num_rows > alive  # re-sent rows
    assert pc.count_distinct(people["internal_customer_id"]).as_py() == alive
    newest = _last_per_key(people, DATAOUT_KEYS["people"])
    assert newest.num_rows == alive
    assert pc.sum(newest["suppressed"]).as_py() > 0  # unsubscribes arrived after the first sync
    seq = deliveries["seq_num"].to_pylist()
    assert seq == sorted(seq) and len(set(seq)) == len(seq)
    assert _last_per_key(deliveries, DATAOUT_KEYS["deliveries"]).num_rows == ws.deliveries.num_rows


def test_dataout_people_carry_email_and_attributes_melt_people(ws: SyntheticWorkspace) -> None:
    store = MemoryObjectStore()
    paths = write_dataout_files(ws, store, "out", files_per_dataset=1)
    people = _read(store, next(p for p in paths if "/people_" in p))
    assert people["email_addr"].to_pylist() == _alive(ws).sort_by("updated_at")["email"].to_pylist()
    attributes = _read(store, next(p for p in paths if "/attributes_" in p))
    consent = attributes.filter(pc.equal(attributes["attribute_name"], "ad_consent"))
    assert consent.num_rows == _alive(ws).num_rows
    assert set(consent["attribute_value"].to_pylist()) == {"true", "false"}


def test_people_gone_before_the_first_sync_are_left_out_and_their_history_anonymized(
    ws: SyntheticWorkspace,
) -> None:
    """Customer.io's data-out page: deleted or suppressed people are not in the People files and the other files'
    history is anonymized for them; ``gone_people="kept"`` sends everyone (for readers that want the old shape)."""
    p = ws.people
    gone = set(p.filter(pc.or_(p["deleted"], p["suppressed"]))["internal_customer_id"].to_pylist())
    assert gone
    for mode, expect_gone in (("dropped", False), ("kept", True)):
        store = MemoryObjectStore()
        paths = write_dataout_files(ws, store, mode, files_per_dataset=2, gone_people=mode)
        tables = {
            ds: pa.concat_tables([_read(store, x) for x in paths if f"/{ds}_" in x])
            for ds in ("people", "attributes", "deliveries", "subjects")
        }
        for ds in ("people", "attributes"):
            present = set(tables[ds]["internal_customer_id"].to_pylist()) & gone
            assert bool(present) is expect_gone, (mode, ds)
        deliveries = tables["deliveries"]
        assert (
            deliveries.num_rows >= ws.deliveries.num_rows
        )  # every delivery still sent, some without a person
        linked = set(deliveries["internal_customer_id"].drop_null().to_pylist())
        assert bool(linked & gone) is expect_gone
        assert (deliveries["internal_customer_id"].null_count > 0) is not expect_gone
    with pytest.raises(ValueError, match="gone_people"):
        write_dataout_files(ws, MemoryObjectStore(), "x", gone_people="maybe")


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_pipelines_files_hold_track_calls(ws: SyntheticWorkspace, fmt: str) -> None:
    store = MemoryObjectStore()
    paths = write_pipelines_files(ws, store, "pipes", fmt=fmt, files=4)

    parsed = [parse_pipelines_name(p) for p in paths]
    assert [p.position for p in parsed if p is not None] == [1, 2, 3, 4]
    assert all(p is not None and p.call_type == "track" and p.ext == fmt for p in parsed)
    if fmt == "json":
        rows = [json.loads(line) for p in paths for line in store.read_bytes(p).splitlines()]
        assert rows[0]["type"] == "track" and set(rows[0]["properties"]) == {"product_id", "cart_id", "value"}
        names, users = [r["event"] for r in rows], [r["userId"] for r in rows]
    else:
        read = pq.read_table if fmt == "parquet" else pacsv.read_csv
        table = pa.concat_tables(
            [read(io.BytesIO(store.read_bytes(p))) for p in paths], promote_options="permissive"
        )
        assert "properties_product_id" in table.column_names
        names, users = table["event"].to_pylist(), table["userId"].to_pylist()
    assert names == ws.events["name"].to_pylist() and users == ws.events["customer_id"].to_pylist()
    with pytest.raises(PreconditionFailed):  # storage files are created once, never overwritten
        write_pipelines_files(ws, store, "pipes", fmt=fmt, files=4)
