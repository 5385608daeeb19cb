"""The numpy phone path (``identity/phone_numbers.py``) keeps only what the per-value rule keeps, with its value.

Oracle: ``normalize_with_reason`` (the scalar rule, plain Python). The generator aims at the edges the numpy path
computes with integers: numbers one digit either side of every length limit, 1234.../9876... runs and one digit
repeated (as the whole number and as the part after the code), fictional ranges, ``(0)`` and trunk prefixes after
codes that do and do not take one, a NANP leading 1, ``+0``/``00`` prefixes, and one odd character (a letter, NUL,
other whitespace, a non-ASCII digit) anywhere in the number.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.identity import normalize_with_reason
from airflow_provider_cio.identity.phone_numbers import decide_phones

PROPERTY = settings(
    max_examples=300,
    derandomize=True,  # the same examples every run: no flaky CI
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RUNS = ("123456789012345", "987654321098765")
CODES = ["", "1", "7", "39", "44", "49", "61", "353", "380", "999", "0", "20"]
DEFAULTS = ["US", "GB", "RU", "IT", "AU", "DE", None]
FICTIONAL = ["7700900", "1632", "2079460", "1134960", "5550", "7010", "491570110", "1800160401"]
ODD = ["a", "x", "\x00", "\n", "\xa0", "\uff11", "+", "#", "٣"]


@st.composite
def national_digits(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["run", "repeat", "fictional", "nanp", "random"]))
    if kind == "run":
        run = draw(st.sampled_from(RUNS))
        start = draw(st.integers(0, 3))
        return run[start : start + draw(st.integers(6, 15))]
    if kind == "repeat":
        return draw(st.sampled_from("0123456789")) * draw(st.integers(5, 16))
    if kind == "fictional":
        prefix = draw(st.sampled_from(FICTIONAL))
        return prefix + draw(st.text("0123456789", min_size=0, max_size=max(0, 11 - len(prefix))))
    if kind == "nanp":  # an area code and exchange, 555-01xx lines among them
        line = draw(st.sampled_from(["55501", "55512", "12345"]))
        return (
            draw(st.from_regex(r"[0-9]{3}", fullmatch=True)) + line + draw(st.text("0123456789", max_size=3))
        )
    return draw(st.text("0123456789", min_size=0, max_size=17))


@st.composite
def edge_phones(draw: st.DrawFn) -> str:
    code = draw(st.sampled_from(CODES))
    lead = draw(st.sampled_from(["+", "00", "", "+ ", "0 0", "1", "1-", "8", "0"]))
    marker = draw(st.sampled_from(["", "", "(0)", "0", " (0) ", "(0", "((0))"]))
    digits = draw(national_digits())
    cut = [0, *sorted(draw(st.lists(st.integers(0, len(digits)), max_size=3))), len(digits)]
    separator = draw(st.sampled_from([" ", "-", ".", "/", "", "\t", ") ", "("]))
    body = separator.join(digits[a:b] for a, b in zip(cut, cut[1:], strict=False))
    phone = f"{lead}{code}{marker}{body}"
    if phone and draw(st.booleans()) and draw(st.booleans()):
        at = draw(st.integers(0, len(phone)))
        phone = phone[:at] + draw(st.sampled_from(ODD)) + phone[at:]
    return draw(st.sampled_from(["", "", " ", "  ", "\t"])) + phone + draw(st.sampled_from(["", " ", "\n"]))


@st.composite
def exact_edges(draw: st.DrawFn) -> str:
    """Numbers that pass every other test and hit exactly one refusal (or just miss it): a run or one digit
    repeated, as the whole number or after a code; a fictional range or NANP's 555-01xx line at the exact length
    it applies to; a NANP area code starting with 0 or 1."""
    digits = "0123456789"
    kind = draw(st.sampled_from(["run", "after code", "fictional", "nanp"]))
    if kind in ("run", "after code"):
        start = draw(st.sampled_from(RUNS))[: draw(st.integers(8, 15))]
        number = draw(st.sampled_from([start, draw(st.sampled_from(digits)) * len(start)]))
        code = "" if kind == "run" else draw(st.sampled_from(["1", "44", "7"])) + " "
        return draw(st.sampled_from(["+", "00", ""])) + code + number
    if kind == "fictional":
        code, length, prefix = draw(
            st.sampled_from(
                [("44", 10, p) for p in FICTIONAL[:4]] + [("61", 9, "5550"), ("61", 9, "491570110")]
            )
        )
        prefix = prefix if code == "44" or len(prefix) == length else draw(st.sampled_from("2378")) + prefix
        size = length + draw(st.sampled_from([0, 0, 0, -1, 1]))
        filler = draw(
            st.text(digits, min_size=max(0, size - len(prefix)), max_size=max(0, size - len(prefix)))
        )
        return f"+{code} {prefix}{filler}"
    area = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    line = draw(st.sampled_from(["55501", "55501", "55502", "55401"]))
    return (
        draw(st.sampled_from(["+1 ", "1-", ""])) + area + line + draw(st.text(digits, min_size=2, max_size=2))
    )


@PROPERTY
@given(
    platform=st.sampled_from(["meta", "google"]),
    default=st.sampled_from(DEFAULTS),
    values=st.lists(st.one_of(edge_phones(), exact_edges(), st.none()), min_size=1, max_size=30),
    cut=st.integers(0, 3),
)
def test_a_decided_phone_is_the_rules_kept_value(
    platform: str, default: str | None, values: list[str | None], cut: int
) -> None:
    """Never a refusal, never another value; sliced arrays (a non-zero offset) read the right rows."""
    column = pa.array(["+44 20 7123 4567"] * cut + values, pa.string()).slice(cut)
    decided = decide_phones(column, platform, default).to_pylist()
    for value, got in zip(values, decided, strict=True):
        if got is not None:
            assert (
                got == normalize_with_reason("phone", value, platform=platform, default_country=default)[0]
            ), value


@pytest.mark.parametrize(
    ("default", "value", "normalized"),
    [
        ("US", "1-650-555-1212", "16505551212"),
        ("US", "16505551212", "16505551212"),
        ("US", "+1 (650) 555-1212", "16505551212"),
        ("RU", "8 912 345 6789", "79123456789"),
        ("GB", "+44 (0)20 7123 4567", "442071234567"),
        ("GB", "+44 020 7123 4567", "442071234567"),
        ("GB", "0044 20 7123 4567", "442071234567"),
        ("IT", "06 1234 5678", "390612345678"),
        (None, "+39 06 1234 5678", "390612345678"),
        (None, "+49 (0)30 12345678", "493012345678"),
    ],
)
def test_the_shapes_people_type_are_decided_here(default: str | None, value: str, normalized: str) -> None:
    """Else they would go to the per-value rule, one by one, and the column would be slow."""
    assert normalize_with_reason("phone", value, platform="meta", default_country=default)[0] == normalized
    assert decide_phones(pa.array([value]), "meta", default).to_pylist() == [normalized]
    assert decide_phones(pa.array([value]), "google", default).to_pylist() == ["+" + normalized]


def test_a_marker_is_never_read_across_two_rows() -> None:
    """ "(" ending one row and "0)" starting the next are not a ``(0)``: dropping that 0 would turn an
    international ``00`` number into a national one with another value."""
    rows = ["+44 20 7123 4567(", "0)044 20 7123 4567"]
    expected = [normalize_with_reason("phone", v, platform="meta", default_country="GB")[0] for v in rows]
    assert expected == ["442071234567", "442071234567"]
    assert decide_phones(pa.array(rows), "meta", "GB").to_pylist() == expected


def test_empty_null_and_long_rows_are_left_to_the_rule() -> None:
    rows = [None, "", "   ", "+44 20 7123 4567 1234567890", "+1 650 555 1212 0000000"]
    assert decide_phones(pa.array(rows, pa.string()), "meta", "US").to_pylist() == [None] * 5
    assert decide_phones(pa.array([], pa.string()), "meta", "US").to_pylist() == []


@pytest.mark.parametrize(
    ("default", "value"),
    [
        (
            None,
            "+12345678901",
        ),  # a 1234... run: refused as a whole, though "1" + "2345678901" looks like NANP
        ("US", "12345678901"),
        (None, "+98765432109"),
        (None, "+44 7777 777777"),  # one digit repeated after the code
        (None, "+44 1234567890"),  # a run after the code
        ("US", "(055) 555-1212"),  # NANP area codes never start with 0 or 1
        ("US", "(650) 555-0123"),  # 555-01xx: fiction
        ("GB", "07700 900123"),  # Ofcom's drama range
        ("GB", "+44 20 7123 4567 8901"),  # 16 digits
    ],
)
def test_numbers_the_rule_refuses_are_not_decided_here(default: str | None, value: str) -> None:
    assert normalize_with_reason("phone", value, platform="meta", default_country=default)[0] is None
    assert decide_phones(pa.array([value]), "meta", default).to_pylist() == [None]


def test_other_string_types_are_read_as_text() -> None:
    for text_type in (pa.large_string(), pa.string_view()):
        assert decide_phones(pa.array(["+1 650 555 1212"], text_type), "meta", None).to_pylist() == [
            "16505551212"
        ]
