"""Property-based tests (Hypothesis) for the converters and the two landing readers (issue 16).

The invariant everywhere: every input row is landed or quarantined with a reason, and a landed value means what its
input meant. Inputs are generated bad as well as good: random text and bytes, invalid UTF-8, oversized fields,
wrong types, rows of the wrong shape, missing and extra columns. Each expected outcome comes from a small reference
reading written here from the documented grammar, not from the code under test.

``make test`` runs a fast profile; ``CIO_CHAOS=full`` runs ten times the examples.
"""

from __future__ import annotations

import io
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import example as hand_picked
from hypothesis import strategies as st

from airflow_provider_cio.customerio.convert import (
    DATAOUT_BOOLEANS,
    EXPORT_BOOLEANS,
    Booleans,
    convert_text,
    decode_text,
)
from airflow_provider_cio.customerio.errors import ExportFormatError
from airflow_provider_cio.customerio.export_csv import Quarantine, iter_export_batches
from airflow_provider_cio.datasets import arrow_schema
from airflow_provider_cio.landing.dataout import ingest_dataout
from airflow_provider_cio.landing.dataout_settings import JOURNEYS_V4, DataOutDataset, DataOutSettings
from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import PartitionNotFound, list_partitions, read_table
from airflow_provider_cio.storage import MemoryObjectStore

FULL = os.environ.get("CIO_CHAOS") == "full"


def examples(fast: int) -> Any:
    """``fast`` examples in ``make test``, ten times as many under ``CIO_CHAOS=full``; never a timing limit."""
    return settings(
        max_examples=fast * 10 if FULL else fast,
        deadline=None,
        derandomize=not FULL,  # the fast profile is the same every run; the full one explores
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# -- reference readings of the documented grammar ------------------------------------------------------------------


def ref_int(text: str) -> int | None:
    t = text.strip(" \t")
    return int(t) if re.fullmatch(r"-?[0-9]{1,18}", t) else None


def ref_float(text: str) -> float | None:
    t = text.strip(" \t")
    return float(t) if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", t) else None


def ref_bool(text: str, spellings: Booleans) -> bool | None:
    t = text.strip(" \t").lower()
    return True if t in spellings.true else False if t in spellings.false else None


def ref_timestamp(text: str) -> datetime | None:
    """Unix seconds (milliseconds above 1e11), or ISO 8601 with ``Z``, an offset, `` UTC`` or no zone (= UTC)."""
    t = text.strip(" \t")
    if re.fullmatch(r"[0-9]{1,16}(\.[0-9]+)?", t):
        seconds = float(t)
        seconds = seconds / 1000.0 if seconds > 1e11 else seconds
        try:
            return EPOCH + timedelta(microseconds=round(seconds * 1e6))
        except OverflowError:  # past year 9999: not an instant any reader can hold
            return None
    t = re.sub(r"\s*UTC$", "Z", t)
    iso = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
    if not re.fullmatch(iso, t):
        return None
    if not re.search(r"(Z|[+-][0-9]{2}:?[0-9]{2})$", t):
        t += "Z"
    t = re.sub(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?=[Z+-])", r"\1T00:00:00", t)  # a date alone: its midnight
    try:
        moment = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC)


# -- the converters ------------------------------------------------------------------------------------------------

ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=24)
numbers_text = st.one_of(
    st.integers(-(10**19), 10**19).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"\A[ \t]?[-+]?[0-9]{0,20}(\.[0-9]{0,3})?([eE][-+]?[0-9]{1,3})?[ \t]?\Z"),
    st.sampled_from(["0x10", "0X1f", "1_000", "1,5", "１２", "٣", "-", "", " "]),
    ascii_text,
)
timestamp_text = st.one_of(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ).flatmap(
        lambda d: st.sampled_from(
            [
                d.strftime("%Y-%m-%dT%H:%M:%SZ"),
                d.isoformat(),
                d.strftime("%Y-%m-%d %H:%M:%S UTC"),
                d.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                d.strftime("%Y-%m-%d"),
                str(int(d.timestamp())),
                str(int(d.timestamp() * 1000)),
                d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M%z"),
            ]
        )
    ),
    st.from_regex(
        r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?(Z|[+-][0-9]{2}:?[0-9]{2}| UTC)?\Z"
    ),
    st.from_regex(r"\A[0-9]{1,17}(\.[0-9]{1,8})?\Z"),
    ascii_text,
)
bool_text = st.one_of(
    st.sampled_from(
        ["true", "false", "TRUE", "False", " true ", "t", "f", "1", "0", "yes", "no", "Y", "N", "y", "n"]
    ),
    ascii_text,
)


def _column(values: list[str | None]) -> pa.Array:
    return pa.array(values, pa.string())


def _check(values: list[str | None], target: pa.DataType, reference: Any) -> None:
    typed, invalid = convert_text(_column(values), target)
    for value, out, bad in zip(values, typed.to_pylist(), invalid.tolist(), strict=True):
        if value is None or value.strip(" \t") == "":
            assert out is None and not bad  # missing, not invalid
            continue
        expected = reference(value)
        if expected is None:
            assert bad and out is None, f"{value!r} must be quarantined, landed as {out!r}"
        else:
            assert not bad and out == expected, f"{value!r} landed as {out!r}, means {expected!r}"


@examples(150)
@given(st.lists(st.one_of(st.none(), numbers_text), max_size=40))
def test_integers_land_exactly_or_are_quarantined(values: list[str | None]) -> None:
    _check(values, pa.int64(), ref_int)


@examples(150)
@given(st.lists(st.one_of(st.none(), numbers_text), max_size=40))
def test_floats_land_exactly_or_are_quarantined(values: list[str | None]) -> None:
    _check(values, pa.float64(), ref_float)


@examples(200)
@given(st.lists(st.one_of(st.none(), timestamp_text), max_size=40))
def test_timestamps_land_at_the_instant_they_name_or_are_quarantined(values: list[str | None]) -> None:
    _check(values, pa.timestamp("us", tz="UTC"), ref_timestamp)


@examples(150)
@given(
    st.lists(st.one_of(st.none(), bool_text), max_size=40),
    st.sampled_from([("export", EXPORT_BOOLEANS), ("dataout", DATAOUT_BOOLEANS)]),
)
def test_booleans_take_only_their_sources_spellings_never_a_default(
    values: list[str | None], source: tuple[str, Booleans]
) -> None:
    spellings = source[1]
    typed, invalid = convert_text(_column(values), pa.bool_(), spellings)
    for value, out, bad in zip(values, typed.to_pylist(), invalid.tolist(), strict=True):
        if value is None or value.strip(" \t") == "":
            assert out is None and not bad
        elif ref_bool(value, spellings) is None:
            assert bad and out is None, f"{value!r} is not a {source[0]} boolean but landed as {out!r}"
        else:
            assert not bad and out is ref_bool(value, spellings)


@examples(200)
@given(
    st.lists(st.one_of(st.none(), st.binary(max_size=40), st.text(max_size=20).map(str.encode)), max_size=30)
)
def test_bytes_decode_exactly_or_are_flagged(values: list[bytes | None]) -> None:
    limit = 16
    text, not_utf8, too_long = decode_text(pa.array(values, pa.binary()), limit)
    for value, out, bad, long_ in zip(
        values, text.to_pylist(), not_utf8.tolist(), too_long.tolist(), strict=True
    ):
        if value is None:
            assert out is None and not bad and not long_
            continue
        if len(value) > limit:
            assert long_ and out is None
            continue
        try:
            expected = value.decode("utf-8")
        except UnicodeDecodeError:
            assert bad and out is None
        else:
            assert not bad and out == expected


@examples(60)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=24)), max_size=30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.sampled_from([pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]),
    st.integers(0, 30),
)
@hand_picked(
    ["x" * 10, "y"], 0, 2, pa.string(), 5
)  # the long value first: the slice's other bytes fit the limit
@hand_picked(
    ["a" * 20, "b" * 10, "c"], 1, 2, pa.large_binary(), 5
)  # a long value before the slice never counts
@hand_picked(["a" * 20, "b"], 1, 1, pa.binary(), 5)
def test_an_oversized_value_is_flagged_in_any_slice_of_any_text_type(
    values: list[str | None], start: int, length: int, kind: pa.DataType, limit: int
) -> None:
    """The length check is skipped when the slice's character bytes cannot hold a value over the limit: values
    outside the slice (in the same buffers) never count, and every value over the limit inside it is flagged."""
    binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
    raw = pa.array([v.encode() if binary and v is not None else v for v in values], kind)
    sliced = raw.slice(start, length)
    _, _, too_long = decode_text(sliced, limit)
    kept = values[start : start + length]
    assert too_long.tolist() == [v is not None and len(v.encode()) > limit for v in kept]


# -- the App API export CSV reader ---------------------------------------------------------------------------------

EXPORT_HEADER = ["id", "customer_id", "campaign_id", "type", "created", "sent_at"]
MAX_FIELD = 64
HUGE = st.integers(MAX_FIELD + 1, 3000).map(lambda n: ("x" * n).encode())
INVALID_UTF8 = st.sampled_from([b"\xff", b"caf\xe9", b"\xc3", b"\xed\xa0\x80", b"a\x80b"])
FREE_TEXT = st.text(
    # U+FFFD left out: after a replay that marks invalid bytes with it, a field holding one is quarantined
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\x00\ufffd"),
    max_size=30,
).map(str.encode)


def field_of(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    return st.one_of(strategy.map(str.encode), INVALID_UTF8, HUGE, st.just(b""))


@st.composite
def export_files(draw: st.DrawFn) -> tuple[list[str], list[list[bytes]]]:
    """An export CSV's header (an optional column missing, an extra one) and its rows (some of the wrong shape)."""
    header = list(EXPORT_HEADER)
    if draw(st.booleans()):
        header.remove("sent_at")
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, len(header))), "extra_column")
    rows = []
    for i in range(draw(st.integers(0, 25))):
        row = []
        for name in header:
            if name == "id":
                row.append(draw(st.one_of(st.just(f"d{i}".encode()), st.just(b""), INVALID_UTF8)))
            elif name in ("customer_id", "type", "extra_column"):
                row.append(draw(st.one_of(FREE_TEXT, INVALID_UTF8, HUGE, st.binary(max_size=20))))
            elif name == "campaign_id":
                row.append(draw(field_of(numbers_text)))
            else:
                row.append(draw(field_of(timestamp_text)))
        shape = draw(st.sampled_from(["ok"] * 8 + ["short", "long"]))
        if shape == "short" and len(row) > 1:
            row = row[: draw(st.integers(1, len(row) - 1))]
        elif shape == "long":
            row.append(b"surplus")
        rows.append(row)
    return header, rows


def _utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _quote(value: bytes) -> bytes:
    return b'"' + value.replace(b'"', b'""') + b'"' if value else b""


def _expected(header: list[str], row: list[bytes]) -> dict[str, Any] | None:
    """What a row must land as, or None when it must be quarantined."""
    if len(row) != len(header):
        return None
    values = dict(zip(header, row, strict=True))
    text: dict[str, str | None] = {}
    for name, raw in values.items():
        if name == "extra_column":
            continue
        if len(raw) > MAX_FIELD:
            return None
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        text[name] = decoded if decoded != "" else None
    if text["id"] is None:
        return None
    out: dict[str, Any] = {"delivery_id": text["id"], "customer_id": text["customer_id"]}
    out["delivery_type"] = text["type"] if text["type"] is not None else "email"  # the deliveries fill
    for name, column, reference in (
        ("campaign_id", "campaign_id", ref_int),
        ("created", "created_at", ref_timestamp),
        ("sent_at", "sent_at", ref_timestamp),
    ):
        value = text.get(name)
        if value is None or value.strip(" \t") == "":
            out[column] = None
            continue
        out[column] = reference(value)
        if out[column] is None:
            return None
    if out["created_at"] is None:
        return None  # required
    return out


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # Arrow's handler on bad UTF-8
@examples(120)
@given(export_files(), st.booleans())
def test_every_export_row_is_landed_as_it_means_or_quarantined_with_a_reason(
    file: tuple[list[str], list[list[bytes]]], replayable: bool
) -> None:
    header, rows = file
    rows = [r for r in rows if r != [b""]]  # an empty line is no record (CSV readers skip it)
    body = (
        b"\n".join([",".join(header).encode()] + [b",".join(_quote(v) for v in row) for row in rows]) + b"\n"
    )
    chunks = [body[i : i + 700] for i in range(0, len(body), 700)]
    quarantine = Quarantine(max_examples=1000)
    if not replayable and any(len(r) != len(header) and not _utf8(b",".join(r)) for r in rows):
        # Arrow hands a malformed row to the skip handler as text: one that is not UTF-8 needs a replay
        with pytest.raises(ExportFormatError, match="cannot be read past data record"):
            list(
                iter_export_batches(
                    iter(chunks), "deliveries", block_size=64 * 1024, max_field_bytes=MAX_FIELD
                )
            )
        return
    batches = iter_export_batches(
        chunks if replayable else iter(chunks),
        "deliveries",
        quarantine=quarantine,
        block_size=1024 if replayable else 64 * 1024,  # a one-shot stream cannot be re-read in bigger blocks
        max_block_size=64 * 1024,
        max_field_bytes=MAX_FIELD,
    )
    landed = pa.Table.from_batches(list(batches), schema=arrow_schema("deliveries")).to_pylist()

    expected = [e for e in (_expected(header, row) for row in rows) if e is not None]
    assert [r["delivery_id"] for r in landed] == [e["delivery_id"] for e in expected]
    for row, want in zip(landed, expected, strict=True):
        assert {k: row[k] for k in want} == want
    assert quarantine.count == len(rows) - len(landed)  # every row: landed or quarantined, once
    for example in quarantine.examples:
        assert re.fullmatch(r"(column [a-z_]+: .+|expected \d+ columns, got \d+)", example.reason)
        assert b"x" * 8 not in example.reason.encode()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@examples(60)
@given(st.binary(max_size=3000))
def test_random_bytes_are_landed_quarantined_or_refused_as_upstream_data(data: bytes) -> None:
    """Whatever the bytes, the reader never fails as a bug: rows land or are quarantined, or the file is refused
    with an ``ExportFormatError`` (upstream data) that quotes none of it."""
    quarantine = Quarantine()
    try:
        list(
            iter_export_batches(
                [b"id,created\n" + data], "deliveries", quarantine=quarantine, block_size=1024
            )
        )
    except ExportFormatError as exc:
        assert exc.error_class == "upstream_data"
        assert not any(
            len(chunk) > 6 and chunk.decode() in str(exc)
            for chunk in re.split(rb"[\s,]", data)
            if chunk.isascii()
        )


# -- the data-out reader -------------------------------------------------------------------------------------------

DAY = datetime(2026, 11, 1, 9, tzinfo=UTC)
# people files in Parquet, CSV or JSON lines, with the v4 mapping (the format is a setting: see dataout_settings)
PEOPLE_IN_ANY_FORMAT = DataOutSettings(
    datasets=(
        DataOutDataset(
            "people",
            r"^people_v(?P<version>\d+)_(?P<workspace>\d+)_(?P<seq>\d+)\.(?P<ext>parquet|csv|json)$",
            JOURNEYS_V4[0].versions,
            file_format="auto",
        ),
    )
)
SUPPRESSED = st.one_of(
    st.booleans(),
    st.none(),
    st.sampled_from(["true", "false", "TRUE", "False", "Y", "N", "yes", "1", "0", "", "t"]),
    ascii_text,
)


@st.composite
def people_files(draw: st.DrawFn) -> tuple[str, list[Any], bool]:
    fmt = draw(st.sampled_from(["parquet", "csv", "json"]))
    n = draw(st.integers(1, 30))
    suppressed = draw(st.lists(SUPPRESSED, min_size=n, max_size=n))
    return fmt, suppressed, draw(st.booleans())


def _people_file(fmt: str, suppressed: list[Any], with_email: bool) -> bytes:
    rows = []
    for i, flag in enumerate(suppressed):
        row = {
            "workspace_id": 1,
            "customer_id": f"c{i}",
            "internal_customer_id": f"i{i}",
            "deleted": False,
            "suppressed": flag,
            "created_at": DAY.isoformat(),
            "updated_at": DAY.isoformat(),
        }
        if with_email:
            row["email_addr"] = f"p{i}@example.com"
        rows.append(row)
    if fmt == "json":  # booleans stay JSON literals, text stays text
        return b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    booleans = all(isinstance(v, bool) or v is None for v in suppressed)
    column = (
        pa.array(suppressed, pa.bool_())
        if booleans and fmt == "parquet"
        else pa.array(
            [v if isinstance(v, str) or v is None else str(v).lower() for v in suppressed], pa.string()
        )
    )
    table = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "suppressed"} for r in rows])
    table = table.append_column("suppressed", column)
    buffer = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, buffer)
    else:
        pacsv.write_csv(table, buffer)
    return buffer.getvalue()


def _meaning(value: Any, fmt: str) -> bool | None:
    """A suppressed value's meaning: a real boolean, or one of the data-out spellings; None for anything else."""
    if isinstance(value, bool):
        return value
    if value is None or (fmt == "csv" and value == ""):
        return None
    return ref_bool(value, DATAOUT_BOOLEANS)


@examples(40)
@given(people_files())
def test_every_data_out_row_is_landed_as_it_means_or_counted_rejected(
    file: tuple[str, list[Any], bool],
) -> None:
    fmt, suppressed, with_email = file
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"src/people_v4_1_{1:018d}.{fmt}", _people_file(fmt, suppressed, with_email))
    report = ingest_dataout(
        source,
        "src/",
        store,
        root="l",
        env="e",
        workspace="w",
        settings=PEOPLE_IN_ANY_FORMAT,
        max_rejected_rate=1.0,
    )
    _assert_people(store, report, suppressed, fmt, with_email)


def _assert_people(
    store: MemoryObjectStore, report: Any, suppressed: list[Any], fmt: str, email: bool
) -> None:
    try:
        landed = {
            r["customer_id"]: r
            for r in read_table(store, PartitionRef("l", "e", "w", "people", DAY.date())).to_pylist()
        }
    except PartitionNotFound:
        landed = {}
    for i, value in enumerate(suppressed):
        meaning = _meaning(value, fmt)
        row = landed.get(f"c{i}")
        if meaning is None:
            assert row is None, f"{value!r} ({fmt}) landed as suppressed={row and row['suppressed']!r}"
        else:
            assert row is not None and row["suppressed"] is meaning
            assert row["email"] == (f"p{i}@example.com" if email else None)
    assert len(landed) + report.rejected_rows.get("people", 0) == len(suppressed)
    for reasons in report.rejected_reasons.values():
        assert all(
            re.fullmatch(r"(column [a-z_]+: .+|missing required value: [a-z_, ]+)", r) for r in reasons
        )


@st.composite
def people_histories(draw: st.DrawFn) -> list[tuple[bool, dict[int, str | None], bool]]:
    """Files in the order Customer.io wrote them: (carries email_addr, key -> email (None: no email), new run)."""
    keys = st.integers(0, 5)
    emails = st.one_of(st.none(), st.integers(0, 99).map(lambda n: f"e{n}@example.com"))
    files = draw(
        st.lists(
            st.tuples(st.booleans(), st.dictionaries(keys, emails, min_size=1), st.booleans()),
            min_size=1,
            max_size=5,
        )
    )
    return files


@examples(25)
@given(people_histories())
def test_a_file_without_a_column_never_changes_what_is_known(
    history: list[tuple[bool, dict[int, str | None], bool]],
) -> None:
    """Whatever the order of files with and without ``email_addr``, in one run or several, each person's newest
    landed row carries the email the newest file that had the column said (null only when none ever did)."""
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    known: dict[int, str | None] = {}
    for index, (with_email, people, new_run) in enumerate(history):
        at = DAY + timedelta(hours=9 * index)  # later files update later, some on later days
        rows = []
        for key, email in sorted(people.items()):
            row: dict[str, Any] = {
                "workspace_id": 1,
                "customer_id": f"c{key}",
                "internal_customer_id": f"i{key}",
                "deleted": False,
                "suppressed": False,
                "created_at": DAY,
                "updated_at": at,
            }
            if with_email:
                row["email_addr"] = email
                known[key] = email
            rows.append(row)
        table = pa.Table.from_pylist(rows)
        if with_email:
            table = table.set_column(
                table.schema.get_field_index("email_addr"),
                "email_addr",
                pa.array([r["email_addr"] for r in rows], pa.string()),
            )
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        source.write_bytes(f"src/people_v4_1_{index + 1:018d}.parquet", buffer.getvalue())
        if new_run:
            ingest_dataout(source, "src/", store, root="l", env="e", workspace="w")
    ingest_dataout(source, "src/", store, root="l", env="e", workspace="w")

    newest: dict[str, dict[str, Any]] = {}
    for ref in list_partitions(store, "l", "e", "w", "people"):
        for row in read_table(store, ref).to_pylist():
            if (
                row["customer_id"] not in newest
                or row["updated_at"] > newest[row["customer_id"]]["updated_at"]
            ):
                newest[row["customer_id"]] = row
    everyone = {key for _, people, _ in history for key in people}
    assert set(newest) == {f"c{key}" for key in everyone}
    for key in everyone:
        assert newest[f"c{key}"]["email"] == known.get(key), f"person {key}"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@examples(40)
@given(st.sampled_from(["csv", "json", "parquet"]), st.binary(max_size=2000), st.booleans())
def test_random_data_out_bytes_are_landed_rejected_or_quarantined_never_a_bug(
    fmt: str, data: bytes, with_header: bool
) -> None:
    """Random bytes as a data-out file: the file is quarantined with a reason, or its rows land or are counted;
    the only exceptions are the upstream-data ones for too many rejected rows."""
    from airflow_provider_cio.landing.dataout import DataOutRowsRejected
    from airflow_provider_cio.landing.writer import TooManyRejectedRows

    header = (
        b"workspace_id,customer_id,internal_customer_id,deleted,suppressed,created_at,updated_at,email_addr\n"
    )
    body = (header if with_header and fmt == "csv" else b"") + data
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"src/people_v4_1_{1:018d}.{fmt}", body)
    try:
        report = ingest_dataout(
            source, "src/", store, root="l", env="e", workspace="w", settings=PEOPLE_IN_ANY_FORMAT
        )
    except (TooManyRejectedRows, DataOutRowsRejected) as exc:
        assert exc.error_class == "upstream_data"
        return
    assert report.files == {"people": 1}
    chunks = [c.decode() for c in re.split(rb"[^ -~]+|[\s,]", data) if len(c) > 6]
    for reason in report.rejected_files.values():  # reasons name columns and counts, never the file's text
        assert not any(chunk in reason for chunk in chunks)


# A Parquet column of the wrong type: each generator gives (the values as written, what each means as an integer).
INVALID = object()


def _as_int(value: Any) -> Any:
    """The integer a value means, None for a missing value, ``INVALID`` for one that means no integer."""
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 1e18 else INVALID
    if value.strip(" \t") == "":
        return None
    parsed = ref_int(value)
    return INVALID if parsed is None else parsed


WRONG_TYPED = st.one_of(
    st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=20).map(
        lambda v: (pa.array(v, pa.int64()), v)
    ),
    st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=20).map(
        lambda v: (pa.array(v, pa.int32()), v)
    ),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20).map(
        lambda v: (pa.array(v, pa.float64()), v)
    ),
    st.lists(st.one_of(numbers_text, st.integers(0, 99).map(str)), min_size=1, max_size=20).map(
        lambda v: (pa.array(v, pa.string()), v)
    ),
    st.lists(st.booleans(), min_size=1, max_size=20).map(lambda v: (pa.array(v, pa.bool_()), v)),
)


@examples(40)
@given(WRONG_TYPED)
def test_a_parquet_column_of_another_type_lands_only_values_that_mean_the_same(
    column: tuple[pa.Array, list[Any]],
) -> None:
    """``campaign_id`` (int64) written as int32, float64, text or bool: a value lands only as the integer it means
    (``3.0`` -> 3, ``"12"`` -> 12); anything else (``1.5``, ``true``, ``"two"``) is rejected and counted."""
    values, meaning = column
    n = len(values)
    table = pa.table(
        {
            "workspace_id": pa.repeat(1, n),
            "delivery_id": pa.array([f"d{i}" for i in range(n)]),
            "internal_customer_id": pa.array([f"i{i}" for i in range(n)]),
            "delivery_type": pa.repeat("email", n),
            "campaign_id": values,
            "created_at": pa.repeat(pa.scalar(DAY, pa.timestamp("us", tz="UTC")), n),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    source, store = MemoryObjectStore("src"), MemoryObjectStore("landing")
    source.write_bytes(f"src/deliveries_v4_1_{1:018d}.parquet", buffer.getvalue())
    report = ingest_dataout(source, "src/", store, root="l", env="e", workspace="w", max_rejected_rate=1.0)
    try:
        landed = {
            r["delivery_id"]: r["campaign_id"]
            for r in read_table(store, PartitionRef("l", "e", "w", "deliveries", DAY.date())).to_pylist()
        }
    except PartitionNotFound:
        landed = {}
    for i, value in enumerate(meaning):
        expected = _as_int(value)
        if f"d{i}" in landed:
            assert expected is not INVALID and landed[f"d{i}"] == expected, (
                f"{value!r} landed as {landed[f'd{i}']!r}"
            )
        elif isinstance(value, int) and not isinstance(value, bool):
            raise AssertionError(f"the integer {value!r} was rejected")
    assert len(landed) + report.rejected_rows.get("deliveries", 0) == n
