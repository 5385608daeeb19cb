"""Names, city, state, zip, country and external id."""

from __future__ import annotations

import unicodedata

import pytest

from airflow_provider_cio.identity import hash_identifier, normalize, normalize_with_reason


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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mrs. Jane", "jane"),  # Data Manager API: "Don't include prefixes such as Mrs."
        ("MR JOHN", "john"),
        ("Dr. Mrs.  Anne-Marie", "anne-marie"),
        ("Ms Zoë", "zoë"),
        ("Dr", "dr"),  # nothing but a title: kept, not emptied
        ("Drew", "drew"),  # a name that starts like a title
        ("Missy", "missy"),
        ("Mary  Ann", "mary ann"),  # extra inner spaces squeezed
    ],
)
def test_google_given_name_drops_a_leading_title(raw: str, expected: str) -> None:
    assert normalize("first_name", raw, platform="google") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Smith Jr.", "smith"),  # Data Manager API: "Don't include suffixes such as Jr."
        ("Smith, Jr.", "smith"),
        ("King III", "king"),
        ("Smith Jr. III", "smith"),
        ("de la Cruz Sr", "de la cruz"),
        ("Jr", "jr"),  # nothing but a suffix: kept
        ("Junior", "junior"),
        ("Ivi", "ivi"),
        ("Pérez", "pérez"),
    ],
)
def test_google_family_name_drops_a_trailing_suffix(raw: str, expected: str) -> None:
    assert normalize("last_name", raw, platform="google") == expected


def test_titles_and_suffixes_are_google_only() -> None:
    # Meta's rule (letters only) has no title or suffix rule; the Google rules do not leak into Meta or across
    # kinds (a family name keeps a leading "Dr", a given name a trailing "Jr").
    assert normalize("first_name", "Mrs. Jane", platform="meta") == "mrsjane"
    assert normalize("last_name", "Smith Jr.", platform="meta") == "smithjr"
    assert normalize("last_name", "Dr Smith", platform="google") == "dr smith"
    assert normalize("first_name", "John Jr", platform="google") == "john jr"


@pytest.mark.parametrize("platform", ["meta", "google"])
@pytest.mark.parametrize(
    ("variant", "plain"),
    [
        ("Ｊｏｈｎ", "John"),  # full-width Latin from a CJK keyboard
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana
        ("Zoe\u0308", "Zoë"),  # decomposed accent
        ("\ufb01ona", "fiona"),  # "ﬁ" ligature
    ],
)
def test_compatibility_variants_of_a_name_hash_alike(variant: str, plain: str, platform: str) -> None:
    assert hash_identifier("first_name", variant, platform=platform) == hash_identifier(
        "first_name", plain, platform=platform
    )


@pytest.mark.parametrize("platform", ["meta", "google"])
def test_turkish_capital_dotted_i_is_plain_i(platform: str) -> None:
    # str.lower() gives "i" + U+0307; Turkish (Unicode's Turkic mapping) gives "i": "İLKER" is "ilker".
    assert normalize("first_name", "İLKER", platform=platform) == "ilker"
    assert normalize("first_name", "İlker", platform=platform) == normalize(
        "first_name", "ilker", platform=platform
    )
    assert normalize("last_name", "YILDIRIM", platform=platform) == "yildirim"
    assert normalize("city", "İSTANBUL", platform="meta") == "istanbul"


@pytest.mark.parametrize("platform", ["meta", "google"])
def test_lowercase_is_not_case_folding(platform: str) -> None:
    # Both platforms ask for lowercase: "ß" and the Greek final sigma stay (full case folding would rewrite them).
    assert normalize("last_name", "Weiß", platform=platform) == "weiß"
    assert normalize("last_name", "ΟΔΥΣΣΕΑΣ", platform=platform) == "οδυσσεας"
    assert normalize("first_name", "Σοφοκλής", platform=platform) == "σοφοκλής"


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
