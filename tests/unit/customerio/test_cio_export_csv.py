"""Export CSV -> Arrow: streamed in blocks, typed to the landed schema, bad rows quarantined without their text."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from airflow_provider_cio.customerio.errors import ExportFormatError
from airflow_provider_cio.customerio.export_csv import Quarantine, iter_export_batches
from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.emulators.synthetic import (
    SyntheticWorkspace,
    generate_workspace,
    iter_customers_csv,
    iter_deliveries_csv,
)

HEADER = b"id,customer_id,cio_id,campaign_id,action_id,newsletter_id,type,created_at,sent_at\n"


def _land(
    data: bytes | list[bytes], dataset: str = "deliveries", **kwargs: object
) -> tuple[pa.Table, Quarantine]:
    quarantine = Quarantine()
    chunks = [data] if isinstance(data, bytes) else data
    batches = list(iter_export_batches(chunks, dataset, quarantine=quarantine, **kwargs))  # type: ignore[arg-type]
    schema = arrow_schema(dataset)
    return pa.Table.from_batches(batches, schema=schema), quarantine


@pytest.fixture(scope="module")
def workspace() -> SyntheticWorkspace:
    return generate_workspace(people=300, seed=3, start=date(2024, 3, 1), days=7)


def test_round_trip_in_small_blocks_and_odd_chunks(workspace: SyntheticWorkspace) -> None:
    data = b"".join(iter_deliveries_csv(workspace, chunk_rows=500))
    chunks = [data[i : i + 1013] for i in range(0, len(data), 1013)]
    quarantine = Quarantine()
    batches = list(iter_export_batches(chunks, "deliveries", quarantine=quarantine, block_size=16 * 1024))

    assert len(batches) > 5  # streamed block by block, not read whole
    assert pa.Table.from_batches(batches).equals(workspace.deliveries)
    assert quarantine.count == 0


def test_unix_seconds_export_lands_at_second_precision(workspace: SyntheticWorkspace) -> None:
    landed, _ = _land(b"".join(iter_deliveries_csv(workspace, time_format="unix")))
    expected = (workspace.deliveries["created_at"].cast(pa.int64()).to_numpy() // 1_000_000) * 1_000_000
    assert (landed["created_at"].cast(pa.int64()).to_numpy() == expected).all()


@pytest.mark.parametrize(
    "text",
    [
        "1709287200",
        "1709287200000",
        "2024-03-01T10:00:00Z",
        "2024-03-01 10:00:00 UTC",
        "2024-03-01T10:00:00",
        "2024-03-01T12:00:00+02:00",
        "2024-03-01T10:00:00.000000Z",
    ],
)
def test_timestamp_spellings(text: str) -> None:
    landed, quarantine = _land(HEADER + f"d1,c1,x,2,21,,email,{text},\n".encode())
    assert quarantine.count == 0
    assert landed["created_at"][0].as_py() == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert landed["sent_at"][0].as_py() is None


def test_malformed_rows_are_quarantined_by_number_without_their_text() -> None:
    rows = [
        b"d1,c1,x,2,21,,email,1709287200,",
        b"d2,c2,jane.doe@example.com,+15551234567",  # too few columns
        b"d3,c3,x,two,21,,email,1709287200,",  # campaign_id not an integer
        b"d4,c4,x,2,21,,email,2024-13-45T99:00:00Z,",  # impossible date
        b",c5,x,2,21,,email,1709287200,",  # required delivery_id missing
        b"d6,c6,x,2,21,,email,1709287200,,extra,columns",  # too many columns
        b"d7,c7,x,2,21,,email,not a date,",
        b"d8,c8,x,,,101,email,1709287200,1709287260",
    ]
    landed, quarantine = _land(HEADER + b"\n".join(rows) + b"\n")

    assert landed["delivery_id"].to_pylist() == ["d1", "d8"]
    assert quarantine.count == 6
    lines = sorted(e.line for e in quarantine.examples if e.line is not None)
    assert lines == [3, 7]  # header is line 1
    reasons = " ".join(e.reason for e in quarantine.examples)
    assert "campaign_id" in reasons and "created_at" in reasons and "delivery_id" in reasons
    assert "jane.doe" not in reasons + quarantine.summary() and "5551234567" not in quarantine.summary()


def test_missing_required_column_names_it() -> None:
    with pytest.raises(ExportFormatError, match="created_at"):
        _land(b"id,customer_id\nd1,c1\n")


def test_header_spellings_are_normalized() -> None:
    data = b"\xef\xbb\xbfDelivery ID,Customer ID,Created,Type\nd1,c1,1709287200,push\n"
    landed, _ = _land(data)
    assert landed.to_pylist()[0]["delivery_id"] == "d1"
    assert landed["delivery_type"].to_pylist() == ["push"]
    assert landed["customer_id"].to_pylist() == ["c1"]


def test_people_fill_flags_and_parse_booleans(workspace: SyntheticWorkspace) -> None:
    attributes = ["first_name", "phone", "ad_consent", "created_at", "updated_at", "country"]
    landed, quarantine = _land(b"".join(iter_customers_csv(workspace.people, attributes)), "people")

    assert quarantine.count == 0
    assert landed["customer_id"].equals(workspace.people["customer_id"])
    assert landed["email"].equals(workspace.people["email"])
    assert landed["ad_consent"].equals(workspace.people["ad_consent"])
    assert landed["internal_customer_id"].equals(workspace.people["cio_id"])
    assert not any(landed["deleted"].to_pylist())


def test_people_without_timestamps_need_a_fill() -> None:
    data = b"id,email,cio_id\nc1,a@example.com,abc\n"
    with pytest.raises(ExportFormatError, match="created_at"):
        _land(data, "people")
    stamp = datetime(2024, 3, 1, tzinfo=UTC)
    landed, _ = _land(data, "people", fills={"created_at": stamp, "updated_at": stamp})
    assert landed["updated_at"].to_pylist() == [stamp]


def test_empty_stream_yields_nothing() -> None:
    assert list(iter_export_batches([], "deliveries")) == []
    assert list(iter_export_batches([b""], "deliveries")) == []
