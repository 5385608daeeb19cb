"""The vectorised column paths (DuckDB for emails, numpy for phones, Arrow in and out) change nothing.

Oracle: the scalar API (``normalize_with_reason``, ``hash_identifier``), which runs each platform's rule on one value
in plain Python. Inputs are generated (Hypothesis): emails with Unicode, dots, plus tags, case, every kind of
whitespace, gmail/googlemail, punycode, malformed shapes; phones in many formats and the bench's shapes (``+CC``,
``(0)``, ``00``, national numbers, placeholders, fictional ranges); random text, empty and null values. Kept values
must be byte-identical, rejected rows rejected for the same reason and counted the same. ``VECTOR_MIN`` is lowered
to 1 so that every generated column takes the vectorised path.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.identity import column as identity_column
from airflow_provider_cio.identity import (
    hash_column,
    hash_column_arrow,
    hash_identifier,
    normalize_column,
    normalize_with_reason,
    prepare,
    prepare_column,
    prepare_column_arrow,
)
from airflow_provider_cio.identity import vector as identity_vector
from airflow_provider_cio.identity.vector import run_common

PROPERTY = settings(
    max_examples=40,
    derandomize=True,  # the same examples every run: no flaky CI
    deadline=None,  # no timing assertions: the machine is shared
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)

# Python's str.strip() and the email pattern's \s differ from RE2's and Arrow's idea of whitespace on exactly these.
SPACES = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1f",
    "\x85",
    "\xa0",
    "\u2003",
    "\u3000",
    "\u200b",
]
LOCAL_CHARS = list("abcxyzABCXYZ0189._+-'") + ["é", "İ", "ß", "Σ", "李", "\u0301", "\x00", " ", "\t", "\x1c"]
DOMAINS = [
    "gmail.com",
    "GMail.COM",
    "googlemail.com",
    "GoogleMail.com",
    "example.org",
    "Example.co.uk",
    "web.de",
    "a.b",
    "xn--exmple-cua.com",
    "XN--EXMPLE-CUA.COM",
    "xn--broken-.com",
    "xn--.com",
    "exämple.com",
    "ＥＸＡＭＰＬＥ．ＣＯＭ",
    "example\u3002com",
    "nodot",
    "x..com",
    ".com",
    "com.",
    "ex ample.com",
    "",
]
ATS = ["@", "@", "@", "@@", "", "＠", " @ "]


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.text(alphabet=st.sampled_from(LOCAL_CHARS), max_size=12))
    raw = local + draw(st.sampled_from(ATS)) + draw(st.sampled_from(DOMAINS))
    return draw(st.sampled_from(SPACES)) + raw + draw(st.sampled_from(SPACES))


@st.composite
def phones(draw: st.DrawFn) -> str:
    digits = draw(st.text(alphabet="0123456789", min_size=0, max_size=16))
    groups = [digits[i : i + draw(st.integers(2, 4))] for i in range(0, len(digits), 3)]
    separator = draw(st.sampled_from([" ", "-", ".", "", "/", "\u2013", "\u00a0"]))
    prefix = draw(
        st.sampled_from(["", "+", "+1 ", "00", "001 ", "+44 (0)", "(0", "\uff0b", "+0", "+999 ", "1-"])
    )
    suffix = draw(st.sampled_from(["", "", " ext 12", "x", " "]))
    return draw(st.sampled_from(SPACES)) + prefix + separator.join(groups) + suffix


@st.composite
def typed_phones(draw: st.DrawFn) -> str:
    """The shapes the bench generates, with digits Hypothesis picks: NANP, UK (fictional ranges too), DE, FR, AU."""
    nsn = draw(
        st.one_of(
            st.from_regex(r"[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True),
            st.from_regex(r"(20|161|7700|7911|7700900|1632|2079460|1134960)[0-9]{3,6}", fullmatch=True),
            st.from_regex(r"(2|3|7|8)(5550|7010)[0-9]{4}", fullmatch=True),
            st.from_regex(r"[0-9]{6,12}", fullmatch=True),
        )
    )
    code = draw(st.sampled_from(["1", "44", "49", "33", "61", "7", "353", "380", "999", "0", ""]))
    shape = draw(
        st.sampled_from(
            [
                "+{c} {n}",
                "+{c}-{n}",
                "+{c}{n}",
                "00{c} {n}",
                "+{c} (0){n}",
                "+{c} 0{n}",
                "0{n}",
                "({n3}) {rest}",
                "{n3}.{rest}",
                "1-{n}",
                "1{n}",
                " {n} ",
                "+{c} {n3}/{rest}",
            ]
        )
    )
    return shape.format(c=code, n=nsn, n3=nsn[:3], rest=nsn[3:])


phone_values = st.one_of(typed_phones(), phones())
text_values = st.one_of(emails(), phone_values, st.text(max_size=30), st.just(""))
column_values = st.lists(st.one_of(text_values, st.none()), max_size=40)
CASES = [
    ("meta", "email", None),
    ("google", "email", None),
    ("meta", "phone", "US"),
    ("google", "phone", "US"),
    ("meta", "phone", "GB"),
    ("google", "phone", "GB"),
    ("meta", "phone", "DE"),
    ("google", "phone", "AU"),
    ("meta", "phone", "RU"),
    ("meta", "phone", None),
    ("google", "phone", None),
]


@pytest.fixture
def vectorised(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every column, however short, takes the vectorised path, in Arrow batches of 3 rows: DuckDB's threads take
    batches in any order, and the answers must still come back in row order."""
    monkeypatch.setattr(identity_column, "VECTOR_MIN", 1)
    monkeypatch.setattr(identity_vector, "SCAN_ROWS", 3)
    yield


def _oracle(
    case: tuple[str, str, str | None], values: list[object]
) -> tuple[list[str | None], list[str | None]]:
    platform, kind, default = case
    pairs = [normalize_with_reason(kind, v, platform=platform, default_country=default) for v in values]
    return [value for value, _ in pairs], [reason for _, reason in pairs]


def _check_against_oracle(case: tuple[str, str, str | None], values: list[object]) -> None:
    platform, kind, default = case
    expected, why = _oracle(case, values)
    reasons = Counter(r for r in why if r is not None)
    normalized = normalize_column(kind, values, platform=platform, default_country=default)
    assert normalized.values == expected
    assert Counter(normalized.reasons) == reasons
    hashed = hash_column(kind, values, platform=platform, default_country=default)
    assert hashed.values == [
        hash_identifier(kind, v, platform=platform, default_country=default) for v in values
    ]
    assert hashed.values == [None if e is None else hashlib.sha256(e.encode()).hexdigest() for e in expected]
    assert Counter(hashed.reasons) == reasons
    prepared = prepare_column(kind, values, platform=platform, default_country=default)
    assert prepared.values == [prepare(kind, v, platform=platform, default_country=default) for v in values]


def _check_arrow_against_oracle(case: tuple[str, str, str | None], values: list[str | None]) -> None:
    platform, kind, default = case
    expected, why = _oracle(case, list(values))
    hashed = hash_column_arrow(
        kind, pa.array(values, pa.string()), platform=platform, default_country=default
    )
    assert hashed.values.to_pylist() == [
        None if e is None else hashlib.sha256(e.encode()).hexdigest() for e in expected
    ]
    assert hashed.reasons.to_pylist() == why
    assert hashed.reason_counts() == Counter(r for r in why if r is not None)
    chunked = pa.chunked_array([pa.array(values[:3], pa.string()), pa.array(values[3:], pa.string())])
    prepared = prepare_column_arrow(kind, chunked, platform=platform, default_country=default)
    assert prepared.values.to_pylist() == [
        prepare(kind, v, platform=platform, default_country=default) for v in values
    ]


# ---- the vectorised path ---------------------------------------------------------------------------------------


@PROPERTY
@given(case=st.sampled_from(CASES), values=column_values)
def test_column_paths_match_the_scalar_rules(
    vectorised: None, case: tuple[str, str, str | None], values: list[object]
) -> None:
    _check_against_oracle(case, values)


@PROPERTY
@given(case=st.sampled_from(CASES), values=column_values)
def test_arrow_column_paths_match_the_scalar_rules(
    vectorised: None, case: tuple[str, str, str | None], values: list[str | None]
) -> None:
    _check_arrow_against_oracle(case, values)


@PROPERTY
@given(
    case=st.sampled_from(CASES),
    values=st.lists(st.one_of(emails(), phone_values, st.text(max_size=20), st.none()), max_size=40),
)
def test_the_common_path_keeps_only_what_the_rule_keeps(
    case: tuple[str, str, str | None], values: list[str | None]
) -> None:
    """A value the vectorised path decides is exactly the per-value rule's value; it never decides a refusal."""
    platform, kind, default = case
    expected, _ = _oracle(case, list(values))
    decided = run_common(kind, platform, default, False, pa.array(values, pa.string())).to_pylist()
    for got, right in zip(decided, expected, strict=True):
        if got is not None:
            assert got == right


@pytest.mark.parametrize(
    ("case", "value", "normalized"),
    [
        (("meta", "email", None), "  John.Smith@Example.ORG ", "john.smith@example.org"),
        (("google", "email", None), "J.Smith+promo@GMail.com", "jsmith@gmail.com"),
        (("meta", "phone", "US"), "+1 (650) 555-1212", "16505551212"),
        (("google", "phone", "US"), "(650) 555-1212", "+16505551212"),
        (("meta", "phone", "GB"), "+44 (0)20 7123 4567", "442071234567"),
        (("meta", "phone", "GB"), "020 7123 4567", "442071234567"),
        (("meta", "phone", None), "0049-30-12345678", "493012345678"),
    ],
)
def test_the_common_shapes_are_decided_vectorised(
    case: tuple[str, str, str | None], value: str, normalized: str
) -> None:
    """The shapes people usually type never reach the per-value path (else the path would not be fast)."""
    platform, kind, default = case
    assert run_common(kind, platform, default, False, pa.array([value])).to_pylist() == [normalized]
    digest = hashlib.sha256(normalized.encode()).hexdigest()
    assert run_common(kind, platform, default, True, pa.array([value])).to_pylist() == [digest]


@pytest.mark.parametrize(
    ("case", "value"),
    [
        (("meta", "phone", "GB"), "+44 7700 900123"),  # Ofcom drama range
        (("meta", "phone", "US"), "(650) 555-0123"),  # NANP 555-01xx
        (("meta", "phone", "US"), "+1 111 111 1111"),
        (("meta", "phone", None), "+380 44 123 4567"),  # a code outside the table
        (("meta", "email", None), "user@xn--exmple-cua.com"),
        (("meta", "email", None), "Zoë@example.com"),
        (("google", "email", None), "+tag@gmail.com"),
    ],
)
def test_borderline_values_are_left_to_the_per_value_rule(
    case: tuple[str, str, str | None], value: str
) -> None:
    platform, kind, default = case
    assert run_common(kind, platform, default, False, pa.array([value])).to_pylist() == [None]


def test_columns_with_other_types_go_value_by_value(vectorised: None) -> None:
    values: list[object] = ["A@B.co", b"a@b.co", 7, np.str_(" A@B.co "), float("nan"), None, "bad@"]
    _check_against_oracle(("meta", "email", None), values)
    surrogate: list[object] = ["a@b.co", "\ud800@b.co"]  # Arrow cannot encode a lone surrogate
    assert normalize_column("email", surrogate, platform="meta").values == [
        normalize_with_reason("email", v, platform="meta")[0] for v in surrogate
    ]


def test_numbers_in_an_arrow_column_take_the_list_rules() -> None:
    values = pa.array([6505551212, None, 53], pa.int64())
    result = prepare_column_arrow("phone", values, platform="meta", default_country="US")
    assert result.values.to_pylist() == [hashlib.sha256(b"16505551212").hexdigest(), None, None]
    assert result.reasons.to_pylist() == [None, "empty", "too_short"]


def test_a_big_column_takes_the_duckdb_path_with_the_same_answers() -> None:
    """At VECTOR_MIN values the real threshold applies; the answers are the scalar ones."""
    base = [f"+1 (650) 555-12{i % 100:02d}" for i in range(identity_column.VECTOR_MIN)]
    values: list[object] = [*base[:-3], "555-0100", None, "+1 (650) 555-0150"]
    result = hash_column("phone", values, platform="meta", default_country="US")
    assert result.values == [
        hash_identifier("phone", v, platform="meta", default_country="US") for v in values
    ]
    assert result.reasons == {"too_short": 1, "empty": 1, "placeholder_phone": 1}
