"""Email rules: trim + lowercase for both platforms; Google also drops dots before @ for gmail/googlemail."""

from __future__ import annotations

import pytest

from airflow_provider_cio.identity import normalize, normalize_with_reason


@pytest.mark.parametrize("platform", ["meta", "google"])
def test_published_example_is_trimmed_and_lowercased(platform: str) -> None:
    assert normalize("email", "  John_Smith@Gmail.com ", platform=platform) == "john_smith@gmail.com"


def test_meta_keeps_gmail_dots() -> None:
    assert normalize("email", "Jo.Hn@gmail.com", platform="meta") == "jo.hn@gmail.com"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jo.hn@gmail.com", "john@gmail.com"),
        ("J.O.H.N@GoogleMail.com", "john@googlemail.com"),
        ("jo.hn+promo@gmail.com", "john+promo@gmail.com"),  # Google does not strip +suffix
        ("jo.hn@example.com", "jo.hn@example.com"),  # other domains keep their dots
        ("jo.hn@gmail.com.au", "jo.hn@gmail.com.au"),
    ],
)
def test_google_gmail_dot_rule(raw: str, expected: str) -> None:
    assert normalize("email", raw, platform="google") == expected


def test_mixed_case_domain_and_tabs() -> None:
    assert normalize("email", "\tAlice@Example.CO.UK\n", platform="meta") == "alice@example.co.uk"


def test_unicode_email_is_nfc_and_lowercased() -> None:
    decomposed = "Jose\u0301@Exa\u0308mple.com"
    assert normalize("email", decomposed, platform="meta") == "jos\u00e9@ex\u00e4mple.com"


def test_invisible_characters_from_spreadsheets_are_removed() -> None:
    assert normalize("email", "\ufeffann@example.com\u200b", platform="meta") == "ann@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "john.smith",
        "john@",
        "@example.com",
        "john@@example.com",
        "john@exa@mple.com",
        "john smith@example.com",
        "john@example",
        "john@.com",
        "john@example.",
        "john@example..com",
        "john@exa mple.com",
    ],
)
@pytest.mark.parametrize("platform", ["meta", "google"])
def test_malformed_emails_are_dropped_with_reason(raw: str, platform: str) -> None:
    assert normalize_with_reason("email", raw, platform=platform) == (None, "malformed_email")


def test_gmail_address_of_only_dots_is_malformed_for_google() -> None:
    assert normalize_with_reason("email", "..@gmail.com", platform="google") == (None, "malformed_email")


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", None])
def test_empty_email_is_dropped_as_empty(raw: str | None) -> None:
    assert normalize_with_reason("email", raw, platform="meta") == (None, "empty")
