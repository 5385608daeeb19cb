"""Export CSV -> Arrow: streamed in blocks, typed to the landed schema, bad rows quarantined without their text."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_provider_cio.customerio.errors import ExportFormatError
from airflow_provider_cio.customerio.export_csv import Quarantine, absent_columns, iter_export_batches
from airflow_provider_cio.customerio.spool import SpooledBytes
from airflow_provider_cio.datasets import arrow_schema
from cio_devkit.emulators.synthetic import (
    SyntheticWorkspace,
    generate_workspace,
    iter_customers_csv,
    iter_deliveries_csv,
)

HEADER = b"id,customer_id,cio_id,campaign_id,action_id,newsletter_id,type,created_at,sent_at\n"


def _land(
    data: bytes | Iterable[bytes], dataset: str = "deliveries", **kwargs: object
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


def _spoiled_export(workspace: SyntheticWorkspace) -> bytes:
    """A clean export with, late in the stream, a row of the wrong shape and a value Arrow's parser refuses."""
    lines = b"".join(iter_deliveries_csv(workspace, chunk_rows=500)).split(b"\n")
    cut = len(lines) * 3 // 4
    lines.insert(cut, b"d-short,c1,x")  # wrong column count: skipped by the parser, counted by line
    lines.insert(
        cut + 40, b'"d-late","c2","x",2,21,,"email","2024-03-01 10:00:00 UTC",,,,,,'
    )  # tolerant only
    lines.insert(cut + 80, b'"d-bad","c3","x",2,21,,"email","2024-13-45T99:00:00Z",,,,,,')  # quarantined
    return b"\n".join(lines)


def _replayable(kind: str, data: bytes, tmp_path: Path) -> Iterable[bytes]:
    """The byte stream shapes a parser is handed: chunks in a list, or a finished download's spool."""
    if kind == "list":
        return [data[i : i + 4096] for i in range(0, len(data), 4096)]
    if kind == "file":
        path = tmp_path / "export.csv"
        path.write_bytes(data)
        return SpooledBytes(path.open("rb"), chunk_size=4096)
    # the client's spool: still in memory, or rolled over to an unnamed temp file with writes not yet flushed
    spool = tempfile.SpooledTemporaryFile(max_size=len(data) + 1 if kind == "spool-in-memory" else 1000)  # noqa: SIM115
    for i in range(0, len(data), 4096):
        spool.write(data[i : i + 4096])
    return SpooledBytes(spool, chunk_size=4096)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["list", "file", "spool-in-memory", "spool-on-disk"])
def test_fast_pass_and_tolerant_replay_land_what_the_tolerant_parser_alone_lands(
    workspace: SyntheticWorkspace, caplog: pytest.LogCaptureFixture, tmp_path: Path, kind: str
) -> None:
    """A replayable stream (a finished download) is parsed fast until a value needs the tolerant parser; the
    result, quarantine included, is exactly that of a one-shot stream parsed the tolerant way from the start.

    A spool is read by Arrow directly (memory-mapped on disk, its pages handed back behind the parser after every
    16 KB block here): that changes nothing in what lands."""
    data = _spoiled_export(workspace)
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]

    def land(source: object) -> tuple[pa.Table, Quarantine]:
        quarantine = Quarantine()
        batches = iter_export_batches(source, "deliveries", quarantine=quarantine, block_size=16 * 1024)  # type: ignore[arg-type]
        return pa.Table.from_batches(list(batches), schema=arrow_schema("deliveries")), quarantine

    with caplog.at_level("INFO", logger="airflow_provider_cio.customerio.export_csv"):
        replayed, fast_quarantine = land(_replayable(kind, data, tmp_path))  # can be iterated again
    switch = re.search(r"record (\d+) on needs the tolerant parser", caplog.text)
    assert (
        switch is not None and int(switch.group(1)) > 1000
    )  # the fast pass landed records before the replay
    tolerant, tolerant_quarantine = land(iter(chunks))  # a one-shot iterator cannot

    assert replayed.equals(tolerant)
    assert replayed.num_rows == workspace.deliveries.num_rows + 1  # every clean row, and the " UTC" one
    assert (
        "d-late" in replayed["delivery_id"].to_pylist() and "d-bad" not in replayed["delivery_id"].to_pylist()
    )
    assert fast_quarantine.count == tolerant_quarantine.count == 2  # each bad row once, never twice
    assert sorted(map(repr, fast_quarantine.examples)) == sorted(map(repr, tolerant_quarantine.examples))


@pytest.mark.parametrize("kind", ["list", "file", "spool-in-memory", "spool-on-disk"])
def test_clean_replayable_export_never_needs_the_tolerant_parser(
    workspace: SyntheticWorkspace, caplog: pytest.LogCaptureFixture, tmp_path: Path, kind: str
) -> None:
    data = b"".join(iter_deliveries_csv(workspace, chunk_rows=500))
    with caplog.at_level("INFO", logger="airflow_provider_cio.customerio.export_csv"):
        landed, quarantine = _land(_replayable(kind, data, tmp_path), block_size=16 * 1024)  # type: ignore[arg-type]
    assert landed.equals(workspace.deliveries) and quarantine.count == 0
    assert "tolerant" not in caplog.text


def test_spooled_bytes_replay_from_the_start_each_pass(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "export.csv"  # type: ignore[operator]
    path.write_bytes(bytes(range(256)) * 100)
    with SpooledBytes(path.open("rb"), chunk_size=1000) as spool:
        first = iter(spool)
        head = next(first)
        assert b"".join(spool) == path.read_bytes()  # a second pass, while the first is half-way
        assert head + b"".join(first) == path.read_bytes()  # the first pass goes on where it was


def test_absent_columns_are_those_neither_exported_nor_filled() -> None:
    # the deliveries export lost customer_id (and never had the metric timestamps); delivery_type has a default
    data = [b"id,cio_id,created_at,sent_at\nd1,x,1709287200,\n"]
    assert absent_columns(data, "deliveries") == [
        "customer_id",
        "campaign_id",
        "action_id",
        "newsletter_id",
        "delivered_at",
        "opened_at",
        "clicked_at",
        "converted_at",
        "bounced_at",
    ]
    people = [b"id,email,cio_id\nc1,a@example.com,abc\n"]  # flags and fills are expected to be absent
    stamp = datetime(2024, 3, 1, tzinfo=UTC)
    absent = absent_columns(people, "people", fills={"created_at": stamp, "updated_at": stamp})
    assert "deleted" not in absent and "created_at" not in absent and "email" not in absent
    assert absent_columns([b""], "deliveries") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21", 21),
        ("-3", -3),
        ("007", 7),
        ("+21", None),
        (" 21", 21),
        ("0x15", None),
        ("0X15", None),
        ("1" * 19, None),
        ("2.0", None),
    ],
)
def test_integer_spellings_agree_on_the_fast_and_general_paths(text: str, expected: int | None) -> None:
    """Alone in its column a value takes the fast path; beside a bad value its block goes the general way."""
    for values in ([text], [text, "not a number"]):
        body = b"".join(
            f"d{i},c1,x,{value},21,,email,1709287200,\n".encode() for i, value in enumerate(values)
        )
        landed, _ = _land(HEADER + body)
        first = [row["campaign_id"] for row in landed.to_pylist() if row["delivery_id"] == "d0"]
        assert first == ([] if expected is None else [expected]), values


def test_a_headerless_export_fails_naming_columns_and_counts_never_its_first_row() -> None:
    """Issue 16 (4): without a header row the first data row is read as one; its PII must not reach the error."""
    row = "jane.doe@example.com,+15551234567,Jane,Doe,Springfield,62704"
    data = (row + "\nj2@example.com,+15550000000,John,Roe,Shelbyville,62565\n").encode()
    stamp = datetime(2024, 3, 1, tzinfo=UTC)
    with pytest.raises(ExportFormatError) as caught:
        _land(data, "people", fills={"created_at": stamp, "updated_at": stamp})
    message = str(caught.value)
    assert caught.value.error_class == "upstream_data"
    assert "customer_id" in message and "6 columns" in message and "header row missing" in message
    for value in row.split(","):
        assert value not in message


def _deliveries_rows(bad: bytes) -> bytes:
    good = [f"d{i},c{i},x,2,21,,email,2024-03-01T10:00:0{i}Z,".encode() for i in range(1, 4)]
    return HEADER + b"\n".join([good[0], bad, good[1], good[2]]) + b"\n"


@pytest.mark.parametrize("replayable", [True, False])
@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"d-bad,c\xff\xfe-jane,x,2,21,,email,2024-03-01T10:00:00Z,", "column customer_id: not valid UTF-8"),
        (
            b"d-bad,c9,x,2,21,,email,2024-03-01T10:00:00Z," + b"9" * (8 * 1024 * 1024),
            "column sent_at: value longer",
        ),
        (
            b'd-bad,"' + b"a" * (2 * 1024 * 1024) + b'",x,2,21,,email,2024-03-01T10:00:00Z,',
            "column customer_id: value",
        ),
    ],
    ids=["invalid-utf8", "8MB-field", "2MB-quoted-field"],
)
def test_one_undecodable_or_huge_field_quarantines_its_row_and_the_rest_lands(
    bad: bytes, reason: str, replayable: bool
) -> None:
    """Issue 16 (5): one invalid UTF-8 byte or one 8 MB field used to fail the whole export (ArrowInvalid)."""
    data = _deliveries_rows(bad)
    quarantine = Quarantine()
    chunks: Iterable[bytes] = [data] if replayable else iter([data])
    if not replayable and len(bad) > 4 * 1024 * 1024:  # a one-shot stream cannot be re-read in bigger blocks
        with pytest.raises(ExportFormatError, match="longer than 4 MB"):
            list(iter_export_batches(chunks, "deliveries", quarantine=quarantine))
        return
    batches = list(iter_export_batches(chunks, "deliveries", quarantine=quarantine))
    landed = pa.Table.from_batches(batches, schema=arrow_schema("deliveries"))
    assert landed["delivery_id"].to_pylist() == ["d1", "d2", "d3"]
    assert quarantine.count == 1 and quarantine.examples[0].record == 2
    assert quarantine.examples[0].reason.startswith(reason)


def test_a_record_beyond_the_largest_block_is_an_upstream_data_error_without_its_text() -> None:
    data = _deliveries_rows(b"d-bad,c9,x,2,21,,email,2024-03-01T10:00:00Z,jane@" + b"x" * (3 * 1024 * 1024))
    with pytest.raises(ExportFormatError) as caught:
        list(iter_export_batches([data], "deliveries", block_size=256 * 1024, max_block_size=1024 * 1024))
    assert caught.value.error_class == "upstream_data" and "jane" not in str(caught.value)
    assert "past data record 1" in str(caught.value)


def test_a_blank_suppression_flag_is_quarantined_never_filled_as_false() -> None:
    """The fill stands in for a column the export lacks; a blank in a suppressed column it carries is unknown."""
    stamp = datetime(2024, 3, 1, tzinfo=UTC)
    data = b"id,email,suppressed,ad_consent\nc1,a@example.com,,\nc2,b@example.com,true,yes\nc3,c@example.com,N,\n"
    landed, quarantine = _land(data, "people", fills={"created_at": stamp, "updated_at": stamp})
    assert landed.select(["customer_id", "suppressed", "ad_consent"]).to_pylist() == [
        {"customer_id": "c2", "suppressed": True, "ad_consent": True},
        {"customer_id": "c3", "suppressed": False, "ad_consent": False},  # no consent given: False
    ]
    assert [(e.record, e.reason) for e in quarantine.examples] == [
        (1, "column suppressed: missing or not a valid bool")
    ]
