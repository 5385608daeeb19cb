"""Names, city, state, zip, country and external id."""

from __future__ import annotations

import unicodedata

import pytest

from airflow_provider_cio.identity import normalize, normalize_with_reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("José", "josé"),
        ("Zoë", "zoë"),
        ("Zoe\u0308", "zoë"),  # decomposed input gives the same (NFC) answer
        ("李", "李"),
        ("Дмитрий", "дмитрий"),
        ("O'Brien", "obrien"),
        ("Anne-Marie", "annemarie"),
        ("  Mary Ann ", "maryann"),
        ("Dr. Smith Jr.", "drsmithjr"),
        ("ÓLAFUR", "ólafur"),
        ("अनुष्का", "अनुष्का"),  # Devanagari vowel signs are combining marks and must stay
    ],
)
@pytest.mark.parametrize("kind", ["first_name", "last_name"])
def test_meta_names_keep_letters_of_every_script(raw: str, expected: str, kind: str) -> None:
    got = normalize(kind, raw, platform="meta")
    assert got == expected
    assert got is not None and unicodedata.is_normalized("NFC", got)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  José ", "josé"),
        ("Anne-Marie", "anne-marie"),
        ("Mary Ann", "mary ann"),
        ("ZOE\u0308", "zoë"),
        ("李", "李"),
    ],
)
def test_google_names_are_trimmed_and_lowercased_only(raw: str, expected: str) -> None:
    assert normalize("first_name", raw, platform="google") == expected


@pytest.mark.parametrize("raw", ["", "  ", "-", "'.", "123"])
def test_names_with_no_letters_are_empty_for_meta(raw: str) -> None:
    assert normalize_with_reason("first_name", raw, platform="meta") == (None, "empty")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("San Francisco", "sanfrancisco"),
        ("  St. Louis ", "stlouis"),
        ("München", "münchen"),
        ("Winston-Salem", "winstonsalem"),
    ],
)
def test_meta_city(raw: str, expected: str) -> None:
    assert normalize("city", raw, platform="meta") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CA", "ca"),
        ("California", "ca"),
        ("new york", "ny"),
        ("N.Y.", "ny"),
        ("District of Columbia", "dc"),
        ("Bavaria", "bavaria"),
        ("Île-de-France", "îledefrance"),
    ],
)
def test_meta_state(raw: str, expected: str) -> None:
    assert normalize("state", raw, platform="meta") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("94105", "94105"),
        ("94105-1234", "94105"),
        ("941051234", "94105"),
        (" SW1A 1AA ", "sw1a1aa"),
        ("75008", "75008"),
        ("1000-001", "1000-001"),  # not a ZIP+4: left whole
        (94105, "94105"),  # read as a number from a CSV
    ],
)
@pytest.mark.parametrize("platform", ["meta", "google"])
def test_zip(raw: object, expected: str, platform: str) -> None:
    assert normalize("zip", raw, platform=platform) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("US", "us"),
        ("us", "us"),
        ("USA", "us"),
        ("U.S.A.", "us"),
        ("United States", "us"),
        ("UK", "gb"),
        ("United Kingdom", "gb"),
        ("GB", "gb"),
        ("Deutschland", "de"),
        ("España", "es"),
        ("fr", "fr"),
    ],
)
def test_country_names_and_codes(raw: str, code: str) -> None:
    assert normalize("country", raw, platform="meta") == code
    assert normalize("country", raw, platform="google") == code.upper()


@pytest.mark.parametrize("raw", ["XX", "Atlantis", "U"])
def test_unknown_country_is_dropped_with_reason(raw: str) -> None:
    assert normalize_with_reason("country", raw, platform="meta") == (None, "unknown_country")


def test_external_id_is_trimmed_only() -> None:
    assert normalize("external_id", "  Cust-00042 ", platform="meta") == "Cust-00042"
    assert normalize_with_reason("external_id", "   ", platform="google") == (None, "empty")
