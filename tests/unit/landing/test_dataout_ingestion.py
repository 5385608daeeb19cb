from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import pytest

from airflow_provider_cio.landing.dataout import ingest_dataout, load_watermark
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import read_manifest, read_table
from airflow_provider_cio.storage import MemoryObjectStore

SRC = "cio-dataout"
NOV1 = datetime(2026, 11, 1, 9, tzinfo=UTC)
NOV2 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def _people(seq: int, rows: list[tuple[str, str, str]]) -> tuple[str, bytes]:
    body = [
        {
            "workspace_id": 1,
            "customer_id": c,
            "internal_customer_id": i,
            "deleted": False,
            "suppressed": False,
            "created_at": NOV1,
            "updated_at": NOV1,
            "email_addr": e,
            "seq_num": seq,
        }
        for c, i, e in rows
    ]
    return f"{SRC}/people_v4_1_{seq:018d}.parquet", _parquet(body)


def _deliveries(seq: int, rows: list[tuple[str, str, datetime, str]], version: int = 4) -> tuple[str, bytes]:
    body = [
        {
            "workspace_id": 1,
            "delivery_id": d,
            "internal_customer_id": i,
            "delivery_type": kind,
            "campaign_id": 7,
            "action_id": 70,
            "newsletter_id": None,
            "created_at": at,
            "seq_num": seq,
        }
        for d, i, at, kind in rows
    ]
    return f"{SRC}/deliveries_v{version}_1_{seq:018d}.parquet", _parquet(body)


def _ingest(source: MemoryObjectStore, store: MemoryObjectStore):  # type: ignore[no-untyped-def]
    return ingest_dataout(source, SRC + "/", store, root="landing", env="dev", workspace="ws1")


def _deliveries_on(store: MemoryObjectStore, day: int) -> dict[str, tuple[str | None, str]]:
    table = read_table(
        store, PartitionRef("landing", "dev", "ws1", "deliveries", datetime(2026, 11, day).date())
    )
    return {r["delivery_id"]: (r["customer_id"], r["delivery_type"]) for r in table.to_pylist()}


def test_new_files_land_by_event_date_with_customer_ids_resolved_and_are_processed_once() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(*_people(1, [("cust-1", "i1", "a@example.com"), ("cust-2", "i2", "b@example.com")]))
    source.write_bytes(*_deliveries(1, [("d1", "i1", NOV1, "email"), ("d2", "i2", NOV2, "email")]))
    report = _ingest(source, store)
    assert report.files == {"people": 1, "deliveries": 1}
    assert _deliveries_on(store, 1) == {"d1": ("cust-1", "email")}
    assert _deliveries_on(store, 2) == {"d2": ("cust-2", "email")}
    first = read_manifest(store, PartitionRef("landing", "dev", "ws1", "deliveries", NOV1.date()))

    again = _ingest(source, store)
    assert again.files == {} and again.partitions == []
    assert read_manifest(store, PartitionRef("landing", "dev", "ws1", "deliveries", NOV1.date())) == first


def test_latest_row_per_key_wins_and_a_late_file_never_overwrites() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(*_people(1, [("cust-1", "i1", "a@example.com")]))
    source.write_bytes(*_deliveries(5, [("d1", "i1", NOV1, "email")]))
    source.write_bytes(*_deliveries(6, [("d1", "i1", NOV1, "sms")]))  # same key, newer file: wins
    _ingest(source, store)
    assert _deliveries_on(store, 1) == {"d1": ("cust-1", "sms")}

    source.write_bytes(*_deliveries(3, [("d1", "i1", NOV1, "push"), ("d9", "i1", NOV1, "push")]))  # late
    report = _ingest(source, store)
    assert report.late_files and report.late_files[0].endswith("000000000000000003.parquet")
    assert _deliveries_on(store, 1) == {"d1": ("cust-1", "sms"), "d9": ("cust-1", "push")}


def test_unreadable_file_and_unknown_version_are_quarantined_and_counted() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"{SRC}/deliveries_v4_1_000000000000000001.parquet", b"this is not parquet")
    source.write_bytes(*_deliveries(2, [("d2", "i2", NOV1, "email")], version=9))
    source.write_bytes(*_deliveries(3, [("d3", "i3", NOV1, "email")]))
    report = _ingest(source, store)
    assert len(report.rejected_files) == 2
    assert any("unreadable parquet" in r for r in report.rejected_files.values())
    assert any("unknown deliveries schema version 9" in r for r in report.rejected_files.values())
    quarantined = store.list("landing/dev/ws1/_rejected/dataout/deliveries/")
    assert len([q for q in quarantined if q.endswith(".reason.json")]) == 2
    assert _deliveries_on(store, 1) == {"d3": (None, "email")}
    assert len(load_watermark(store, "landing", "dev", "ws1").processed["deliveries"]) == 3


def test_pipelines_track_csv_lands_as_events() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    csv = (
        "messageId,userId,event,timestamp,properties.product_id,properties.cart_id,properties.value\n"
        "m1,cust-1,added_to_cart,2026-11-01T10:00:00Z,p1,c1,99.5\n"
        "m2,cust-2,viewed_product,2026-11-02T11:00:00Z,p2,,\n"
    )
    source.write_bytes(f"{SRC}/int1.act9.1.track.csv", csv.encode())
    report = _ingest(source, store)
    assert report.files == {"events": 1}
    day1 = read_table(store, PartitionRef("landing", "dev", "ws1", "events", NOV1.date())).to_pylist()
    assert day1[0]["event_id"] == "m1" and day1[0]["cart_id"] == "c1" and day1[0]["value"] == 99.5


def _people_rows(n: int, *, suppressed: object, email: bool = True, seq: int = 1) -> list[dict]:
    rows = []
    for i in range(n):
        row = {
            "workspace_id": 1,
            "customer_id": f"cust-{i}",
            "internal_customer_id": f"i{i}",
            "deleted": False,
            "suppressed": suppressed(i) if callable(suppressed) else suppressed,
            "created_at": NOV1,
            "updated_at": NOV1 if seq == 1 else NOV2,
            "seq_num": seq,
        }
        if email:
            row["email_addr"] = f"p{i}@example.com"
        rows.append(row)
    return rows


def _people_on(store: MemoryObjectStore, day: int) -> dict[str, dict]:
    ref = PartitionRef("landing", "dev", "ws1", "people", datetime(2026, 11, day).date())
    return {r["customer_id"]: r for r in read_table(store, ref).to_pylist()}


def test_text_booleans_outside_the_documented_spellings_are_rejected_never_false() -> None:
    """Issue 16 (1): 'Y'/'N' used to land as False (72 of 75 suppressed people) with nothing quarantined."""
    from airflow_provider_cio.landing.writer import TooManyRejectedRows

    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    rows = _people_rows(300, suppressed=lambda i: "Y" if i < 75 else "N")
    source.write_bytes(f"{SRC}/people_v4_1_{1:018d}.parquet", _parquet(rows))
    with pytest.raises(TooManyRejectedRows) as caught:
        _ingest(source, store)
    message = str(caught.value)
    assert caught.value.error_class == "upstream_data"
    assert "300 of 300 rows rejected" in message and "column suppressed: not a valid bool: 300" in message
    assert "example.com" not in message and "cust-" not in message
    assert store.list("landing/dev/ws1/people/") == []  # nothing committed, nobody landed as not suppressed


def test_one_bad_boolean_rejects_its_row_and_the_documented_spellings_land() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    spelled = ["true", "FALSE", "True", "false"]
    rows = _people_rows(200, suppressed=lambda i: "Y" if i == 7 else spelled[i % 4])
    source.write_bytes(f"{SRC}/people_v4_1_{1:018d}.parquet", _parquet(rows))
    report = _ingest(source, store)
    landed = _people_on(store, 1)
    assert "cust-7" not in landed and len(landed) == 199
    assert all(
        landed[f"cust-{i}"]["suppressed"] is (spelled[i % 4].lower() == "true") for i in range(200) if i != 7
    )
    assert report.rejected_rows["people"] == 1
    assert report.rejected_reasons["people"] == {"column suppressed: not a valid bool": 1}
    manifest = read_manifest(store, PartitionRef("landing", "dev", "ws1", "people", NOV1.date()))
    assert manifest.rejected_reasons == {"column suppressed: not a valid bool": 1}


def test_a_file_without_a_column_keeps_prior_values_records_drift_and_the_gate_blocks_on_email() -> None:
    """Issue 16 (3): a newer people file without email_addr used to null every existing email, gate passing."""
    from airflow_provider_cio.quality.gate import run_gate

    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"{SRC}/people_v4_1_{1:018d}.parquet", _parquet(_people_rows(150, suppressed=False)))
    _ingest(source, store)
    newer = _people_rows(150, suppressed=lambda i: i % 2 == 0, email=False, seq=2)
    newer.append({**newer[0], "customer_id": "cust-new", "internal_customer_id": "i-new"})  # first seen now
    source.write_bytes(f"{SRC}/people_v4_1_{2:018d}.parquet", _parquet(newer))
    report = _ingest(source, store)

    landed = _people_on(store, 2)  # the people moved to the day of their update
    assert all(landed[f"cust-{i}"]["email"] == f"p{i}@example.com" for i in range(150))
    assert report.absent_columns == {"people": ["email"]}
    assert all(landed[f"cust-{i}"]["suppressed"] is (i % 2 == 0) for i in range(150))  # the new values land
    assert landed["cust-new"]["email"] is None  # unknown, not invented
    ref = PartitionRef("landing", "dev", "ws1", "people", NOV2.date())
    assert read_manifest(store, ref).absent_columns == ["email"]
    result = run_gate(store, ref, interval_end=datetime(2026, 11, 3, tzinfo=UTC))
    assert not result.success
    assert ("missing_at_source", "email", "critical") in [
        (f.kind, f.column, f.severity) for f in result.drift
    ]


def test_a_missing_flag_column_is_never_assumed_false() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"{SRC}/people_v4_1_{1:018d}.parquet", _parquet(_people_rows(100, suppressed=True)))
    _ingest(source, store)
    later = [
        {k: v for k, v in r.items() if k != "suppressed"} for r in _people_rows(100, suppressed=True, seq=2)
    ]
    source.write_bytes(f"{SRC}/people_v4_1_{2:018d}.parquet", _parquet(later))
    _ingest(source, store)
    assert all(r["suppressed"] is True for r in _people_on(store, 2).values())  # kept, not defaulted to False


def _csv(header: list[str], rows: list[list[bytes]]) -> bytes:
    return b"\n".join([",".join(header).encode()] + [b",".join(r) for r in rows]) + b"\n"


def test_one_undecodable_or_huge_field_rejects_its_row_in_csv_and_json_files() -> None:
    """Issue 16 (5), data-out side: a bad byte or an 8 MB field rejects one row, the rest of the file lands."""
    header = ["messageId", "userId", "event", "timestamp", "properties.cart_id"]
    rows = [
        [f"m{i}".encode(), b"cust-1", b"added_to_cart", b"2026-11-01T10:00:00Z", b"c1"] for i in range(300)
    ]
    rows[5][1] = b"cust-\xff"
    rows[9][4] = b"x" * (8 * 1024 * 1024)
    lines = [
        json.dumps(
            {
                "messageId": f"j{i}",
                "userId": "u",
                "event": "viewed_product",
                "timestamp": "2026-11-01T11:00:00Z",
                "properties": {"product_id": f"p{i}"},
            }
        ).encode()
        for i in range(300)
    ]
    lines[3] = b'{"messageId": "j3", "userId": "u\xff"'  # cut short, and not UTF-8
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"{SRC}/int1.act9.1.track.csv", _csv(header, rows))
    source.write_bytes(f"{SRC}/int1.act9.2.track.json", b"\n".join(lines) + b"\n")
    report = _ingest(source, store)

    landed = read_table(store, PartitionRef("landing", "dev", "ws1", "events", NOV1.date()))
    ids = set(landed["event_id"].to_pylist())
    assert len(ids) == 597 and not {"m5", "m9", "j3"} & ids
    assert landed.filter(pa.compute.equal(landed["event_id"], "j4"))["product_id"].to_pylist() == ["p4"]
    assert report.rejected_reasons["events"] == {
        "column customer_id: not valid UTF-8": 1,
        "column cart_id: value longer than 1048576 bytes": 1,
        "line not valid UTF-8": 1,
    }


def test_an_empty_interval_file_lands_nothing_and_a_file_with_no_json_line_is_quarantined() -> None:
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"{SRC}/int1.act9.1.track.json", b"")
    source.write_bytes(f"{SRC}/int1.act9.2.track.csv", b"\n")
    source.write_bytes(f"{SRC}/int1.act9.3.track.json", b"not json\n[1, 2]\n")
    report = _ingest(source, store)
    assert report.files == {"events": 3} and report.partitions == []
    assert list(report.rejected_files.values()) == [
        "no line is a JSON object (line not valid JSON: 1, line not a JSON object: 1)"
    ]


def test_invalid_utf8_inside_a_parquet_string_rejects_its_row() -> None:
    """pyarrow reads a Parquet string column without checking its UTF-8; the landing checks it."""
    import numpy as np

    rows = _people_rows(150, suppressed=False)
    emails = [r.pop("email_addr").encode() for r in rows]
    emails[3] = b"p3@exa\xffmple.com"
    offsets = np.cumsum([0] + [len(e) for e in emails]).astype(np.int32)
    column = pa.Array.from_buffers(
        pa.string(), len(emails), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(emails))]
    )
    table = pa.Table.from_pylist(rows).append_column("email_addr", column)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"{SRC}/people_v4_1_{1:018d}.parquet", buffer.getvalue())
    report = _ingest(source, store)
    landed = _people_on(store, 1)
    assert "cust-3" not in landed and len(landed) == 149 and landed["cust-4"]["email"] == "p4@example.com"
    assert report.rejected_reasons["people"] == {"column email: not valid UTF-8": 1}


def test_a_merge_overtaken_by_another_commit_fails_and_loses_neither_side() -> None:
    """Two data-out merges of one day at once (a retry beside a backfill): the one that read the older generation
    must not commit over the other's rows. It fails (platform, retried) and the winner's rows stay."""
    from airflow_provider_cio.datasets import arrow_schema
    from airflow_provider_cio.landing.writer import ConcurrentCommit, PartitionWriter

    day = PartitionRef("landing", "dev", "ws1", "deliveries", NOV1.date())

    class OvertakingStore(MemoryObjectStore):
        """Commits another merge of the day the moment our writer uploads its first part."""

        overtaken = False

        def write_bytes(self, path, data, **kwargs):  # type: ignore[no-untyped-def, override]
            if not self.overtaken and path.startswith(day.prefix + "/part-"):
                self.overtaken = True
                rows = read_table(self, day).to_pylist()
                rows.append({**rows[0], "delivery_id": "d-other", "delivery_type": "push"})
                schema = arrow_schema("deliveries")
                with PartitionWriter(self, day, schema, source="other merge") as other:
                    other.write_batch(pa.Table.from_pylist(rows, schema=schema))
                    other.commit()
            return super().write_bytes(path, data, **kwargs)

    source, store = MemoryObjectStore("src"), OvertakingStore("landing")
    source.write_bytes(*_people(1, [("cust-1", "i1", "a@example.com")]))
    source.write_bytes(*_deliveries(1, [("d1", "i1", NOV1, "email")]))
    store.overtaken = True  # the first landing runs alone
    _ingest(source, store)
    store.overtaken = False

    source.write_bytes(*_deliveries(2, [("d2", "i1", NOV1, "sms")]))
    with pytest.raises(ConcurrentCommit) as raised:
        _ingest(source, store)
    assert raised.value.error_class == "platform"
    assert _deliveries_on(store, 1) == {"d1": ("cust-1", "email"), "d-other": ("cust-1", "push")}

    report = _ingest(source, store)  # the retry merges into the winner's generation
    assert report.files == {"deliveries": 1}
    assert _deliveries_on(store, 1) == {
        "d1": ("cust-1", "email"),
        "d-other": ("cust-1", "push"),
        "d2": ("cust-1", "sms"),
    }


@pytest.mark.parametrize("stated", [False, True])
def test_people_without_a_consent_column_land_with_the_stated_consent_never_an_assumed_yes(
    stated: bool,
) -> None:
    """Journeys data-out people carry no consent column; they used to land as consented, so every ad audience
    could target people whose consent was never read. Now they land as the settings state, not consented by
    default."""
    from airflow_provider_cio.landing.dataout_settings import DataOutSettings

    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"{SRC}/people_v4_1_{1:018d}.parquet", _parquet(_people_rows(40, suppressed=False)))
    settings = DataOutSettings(ad_consent_when_unmapped=True) if stated else None
    ingest_dataout(source, SRC, store, root="landing", env="dev", workspace="ws1", settings=settings)
    landed = _people_on(store, 1)
    assert len(landed) == 40
    assert {row["ad_consent"] for row in landed.values()} == {stated}
