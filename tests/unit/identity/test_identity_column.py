"""The column path gives exactly the scalar answers, counts drop reasons, and never fails the batch."""

from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pytest

from airflow_provider_cio.identity import (
    ColumnResult,
    hash_column,
    hash_identifier,
    kinds_for,
    normalize_column,
    normalize_with_reason,
    prepare,
    prepare_column,
)

_PIECES = [
    "  John_Smith@Gmail.com ",
    "jo.hn@gmail.com",
    "bad@",
    "a@b.c",
    "x@@y.com",
    "+1 (650) 555-1212",
    "+44 (0)20 7946 0958",
    "020 7946 0958",
    "00 49 30 1234567",
    "+0000000000",
    "555-1212",
    "1-800-FLOWERS",
    "José",
    "Zoe\u0308",
    "李",
    "O'Brien",
    "Anne-Marie",
    "California",
    "N.Y.",
    "94105-1234",
    "SW1A 1AA",
    "United States",
    "UK",
    "Deutschland",
    "XX",
    "",
    "   ",
    "-",
    "\ufeff",
    "\uff0b\uff11 650\u2013555\u00a01212",
]


def _mixed_values(n: int, seed: int) -> list[object]:
    """Published shapes, random mutations of them, random digit strings and odd Python values."""
    rng = random.Random(seed)
    out: list[object] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.45:
            out.append(rng.choice(_PIECES))
        elif roll < 0.65:
            piece = rng.choice(_PIECES)
            pos = rng.randrange(len(piece) + 1)
            out.append(piece[:pos] + rng.choice(" .-()+0@aZé") + piece[pos:])
        elif roll < 0.85:
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 17)))
            out.append(rng.choice(["", "+", "00", "0"]) + digits)
        elif roll < 0.9:
            out.append(None)
        else:
            out.append(rng.choice([float("nan"), 16505551212, 94105, True, 2.5, b"bytes"]))
    return out


VALUES = _mixed_values(3000, seed=7)
CASES = [
    (platform, kind, default)
    for platform in ("meta", "google")
    for kind in kinds_for(platform)
    for default in ((None, "US", "GB", "FR") if kind == "phone" else (None,))
]


@pytest.mark.parametrize(("platform", "kind", "default"), CASES)
def test_column_matches_scalar_on_mixed_values(platform: str, kind: str, default: str | None) -> None:
    scalar = [normalize_with_reason(kind, v, platform=platform, default_country=default) for v in VALUES]
    normalized = normalize_column(kind, VALUES, platform=platform, default_country=default)
    assert normalized.values == [value for value, _ in scalar]
    assert normalized.reasons == dict(Counter(reason for _, reason in scalar if reason is not None))
    assert normalized.kept + normalized.dropped == len(VALUES)

    hashed = hash_column(kind, VALUES, platform=platform, default_country=default)
    assert hashed.values == [
        hash_identifier(kind, v, platform=platform, default_country=default) for v in VALUES
    ]
    assert hashed.reasons == normalized.reasons

    prepared = prepare_column(kind, VALUES, platform=platform, default_country=default)
    assert prepared.values == [prepare(kind, v, platform=platform, default_country=default) for v in VALUES]


def test_pyarrow_input_gives_the_same_answers() -> None:
    strings = [v for v in VALUES if v is None or isinstance(v, str)]
    from_list = hash_column("email", strings, platform="google")
    from_arrow = hash_column("email", pa.array(strings, type=pa.string()), platform="google")
    chunked = pa.chunked_array([pa.array(strings[:100]), pa.array(strings[100:])])
    assert from_arrow == from_list
    assert hash_column("email", chunked, platform="google") == from_list
    names = normalize_column("first_name", pa.array(strings, type=pa.large_string()), platform="meta")
    assert names == normalize_column("first_name", strings, platform="meta")


def test_bad_values_are_counted_and_never_fail_the_batch() -> None:
    column = ["+1 (650) 555-1212", "+0000000000", "(650) 555-1212", "", None, "call me", "+1 650"]
    result = hash_column("phone", column, platform="meta")
    assert isinstance(result, ColumnResult)
    assert result.values[0] is not None and result.values[1:] == [None] * 6
    assert result.reasons == {
        "placeholder_phone": 1,
        "no_country_code": 1,
        "empty": 2,
        "malformed_phone": 1,
        "too_short": 1,
    }
    assert result.kept == 1 and result.dropped == 6


def test_repeating_kinds_count_reasons_per_row_not_per_distinct_value() -> None:
    result = normalize_column("first_name", ["José", "", "", "José", "-", None], platform="meta")
    assert result.values == ["josé", None, None, "josé", None, None]
    assert result.reasons == {"empty": 4}


def test_numbers_that_compare_equal_are_not_merged_by_the_memo() -> None:
    # 1 == 1.0 == True as dict keys; they must still be judged one by one.
    result = normalize_column("zip", [1, True, 1.0, "1"], platform="meta")
    assert result.values == ["1", None, None, "1"]
    assert result.reasons == {"not_a_string": 2}


def test_generators_and_tuples_are_accepted() -> None:
    values = ("a@b.com", "nope")
    assert normalize_column("email", iter(values), platform="meta").values == ["a@b.com", None]
    assert normalize_column("email", values, platform="meta").values == ["a@b.com", None]


def test_unknown_kind_raises_before_any_work() -> None:
    with pytest.raises(ValueError, match="'mobile'"):
        hash_column("mobile", ["x"], platform="meta")


def test_pandas_series_with_missing_values() -> None:
    import pandas as pd

    series = pd.Series(["José", pd.NA, " x "], dtype="string")
    assert normalize_column("first_name", series, platform="meta").values == ["josé", None, "x"]
    assert normalize_column("email", pd.Series(["A@B.com", None]), platform="meta").reasons == {"empty": 1}
