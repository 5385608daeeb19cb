"""Phone rules: Meta digits with country code and no '+', Google E.164 with '+'; real-world shapes accepted."""

from __future__ import annotations

import pytest

from airflow_provider_cio.identity import normalize, normalize_with_reason
from airflow_provider_cio.identity.placeholders import is_fictional


def test_published_example_meta_and_google() -> None:
    assert normalize("phone", "+1 (650) 555-1212", platform="meta") == "16505551212"
    assert normalize("phone", "+1 (650) 555-1212", platform="google") == "+16505551212"


@pytest.mark.parametrize(
    ("raw", "default_country", "meta"),
    [
        ("+44 20 7123 4567", None, "442071234567"),
        ("+44 (0)20 7123 4567", None, "442071234567"),  # (0) trunk marker dropped
        ("+44 020 7123 4567", None, "442071234567"),  # misplaced trunk 0 after the code
        ("00 44 20 7123 4567", None, "442071234567"),  # 00 international prefix
        ("0044-20-7123-4567", "US", "442071234567"),  # international wins over the default country
        ("(650) 555-1212", "US", "16505551212"),
        ("650.555.1212", "us", "16505551212"),
        ("1-650-555-1212", "US", "16505551212"),  # NANP trunk 1
        ("020 7123 4567", "GB", "442071234567"),  # national trunk 0 dropped
        ("(020) 7123-4567", "GB", "442071234567"),
        ("030 1234567", "DE", "49301234567"),
        ("+49 (0)30 1234567", None, "49301234567"),
        ("01 23 45 67 89", "FR", "33123456789"),
        ("06 12 34 56 78", "FR", "33612345678"),
        ("+33 6 12 34 56 78", None, "33612345678"),
        ("06 1234 5678", "IT", "390612345678"),  # Italy keeps the leading 0 of landlines
        ("+39 06 1234 5678", None, "390612345678"),
        ("+61 (0)4 1234 5678", None, "61412345678"),
        ("+1 650/555/1212", None, "16505551212"),
        ("+7 912 345-67-89", None, "79123456789"),  # a code outside the calling-code table is kept as written
        ("+380 44 123 4567", None, "380441234567"),
        (
            "\uff0b\uff11 650\u2013555\u00a01212",
            None,
            "16505551212",
        ),  # full-width +1, en dash, no-break space
        (16505551212, None, None),  # digits without '+' and no default country: no country code
    ],
)
def test_real_world_shapes(raw: object, default_country: str | None, meta: str | None) -> None:
    got = normalize("phone", raw, platform="meta", default_country=default_country)
    assert got == meta
    google = normalize("phone", raw, platform="google", default_country=default_country)
    assert google == (None if meta is None else "+" + meta)


@pytest.mark.parametrize(
    ("raw", "reason"), [("(650) 555-1212", "no_country_code"), ("020 7123 4567", "no_country_code")]
)
def test_national_number_without_default_country_is_dropped(raw: str, reason: str) -> None:
    assert normalize_with_reason("phone", raw, platform="meta") == (None, reason)


@pytest.mark.parametrize(
    "raw",
    [
        "+0000000000",
        "000-000-0000",
        "+1 111 111 1111",
        "+1 (555) 555-5555",
        "+44 0000 000000",
        "1234567890",
        "+1 123-456-7890",
        "9999999999",
        "+380 0000000000",
    ],
)
def test_placeholder_phones_are_dropped(raw: str) -> None:
    assert normalize_with_reason("phone", raw, platform="meta", default_country="US") == (
        None,
        "placeholder_phone",
    )


@pytest.mark.parametrize(
    ("raw", "default_country"),
    [
        # NANP: 555-0100 through 555-0199 are reserved for fiction in every area code
        ("+1 (650) 555-0100", None),
        ("(800) 555-0199", "US"),  # Google's own formatting example, a fictional number
        ("1-212-555-0142", "US"),
        ("+1 416 555 0123", "CA"),
        # ITU-T E.164: +999 is a reserved country code
        ("+999 123 456 789", None),
        ("00 999 5551234", "US"),
        # UK (Ofcom drama ranges)
        ("+44 7700 900461", None),  # the Doctor's number
        ("07700 900000", "GB"),
        ("+44 20 7946 0958", None),
        ("020 7946 0000", "GB"),
        ("+44 1632 960123", None),
        ("0161 496 0999", "GB"),
        ("+44 (0)117 496 0303", None),
        # Australia (ACMA fictitious numbers)
        ("+61 491 570 156", None),
        ("(02) 5550 1234", "AU"),
        ("+61 8 7010 9999", None),
        ("1800 160 401", "AU"),
    ],
)
@pytest.mark.parametrize("platform", ["meta", "google"])
def test_fictional_and_reserved_numbers_are_placeholders(
    raw: str, default_country: str | None, platform: str
) -> None:
    assert normalize_with_reason("phone", raw, platform=platform, default_country=default_country) == (
        None,
        "placeholder_phone",
    )


@pytest.mark.parametrize(
    ("raw", "default_country", "meta"),
    [
        ("+1 (650) 555-1212", None, "16505551212"),  # 555-1212 is assignable (and the platforms' own example)
        ("+1 (650) 555-0200", None, "16505550200"),  # just past the fictional block
        ("+1 (650) 555-0099", None, "16505550099"),
        ("+1 (650) 501-0150", None, "16505010150"),  # 01xx lines outside exchange 555
        ("+44 20 7946 1958", None, "442079461958"),  # just past London's drama block
        ("+44 7700 901461", None, "447700901461"),
        ("+44 161 496 1000", None, "441614961000"),
        ("+61 491 570 160", None, "61491570160"),
        ("+998 71 123 4567", None, "998711234567"),  # Uzbekistan: a real code next to the reserved one
    ],
)
def test_numbers_next_to_the_fictional_ranges_are_kept(
    raw: str, default_country: str | None, meta: str
) -> None:
    assert normalize("phone", raw, platform="meta", default_country=default_country) == meta
    assert normalize("phone", raw, platform="google", default_country=default_country) == "+" + meta


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("+1 650 555 121", "too_short"),
        ("+1 650 555 12123", "too_long"),
        ("+44 20 79", "too_short"),
        ("+44 2079 4609 5812 3456", "too_long"),
        ("555-1212", "too_short"),
        ("+1 (650) 555-1212 ext 3", "malformed_phone"),
        ("1-800-FLOWERS", "malformed_phone"),
        ("+1 650 555 1212 +2", "malformed_phone"),
        ("+", "malformed_phone"),
        ("()", "malformed_phone"),
        ("tel: 555", "malformed_phone"),
        ("+1 (050) 555-1212", "malformed_phone"),  # NANP area codes never start with 0 or 1
        ("+044 20 7123 4567", "invalid_country_code"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_bad_phones_are_dropped_with_reason(raw: str, reason: str) -> None:
    assert normalize_with_reason("phone", raw, platform="google", default_country="US") == (None, reason)


def test_unknown_default_country_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="'XX'"):
        normalize("phone", "+1 650 555 1212", platform="meta", default_country="XX")


@pytest.mark.parametrize(
    ("code", "national"),
    [
        ("1", "6505550100"),
        ("44", "7700900461"),
        ("44", "1614960000"),
        ("61", "491570159"),
        ("61", "255501234"),
    ],
)
def test_is_fictional_and_the_inlined_check_agree(code: str, national: str) -> None:
    assert is_fictional(code, national)
    assert not is_fictional(code, national + "1")  # one digit more: another length, a real-looking number
    assert normalize_with_reason("phone", f"+{code}{national}", platform="google") == (
        None,
        "placeholder_phone",
    )
