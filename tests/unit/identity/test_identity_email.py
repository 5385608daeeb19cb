"""Email rules: trim + lowercase for both platforms; Google also removes inner whitespace, and for gmail.com /
googlemail.com the dots and the ``+tag`` of the local part (Data Manager API "Format user data")."""

from __future__ import annotations

import pytest

from airflow_provider_cio.identity import hash_identifier, normalize, normalize_with_reason


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
        ("jo.hn@example.com", "jo.hn@example.com"),  # other domains keep their dots
        ("jo.hn@gmail.com.au", "jo.hn@gmail.com.au"),
        ("jo.hn@sub.gmail.com", "jo.hn@sub.gmail.com"),
    ],
)
def test_google_gmail_dot_rule(raw: str, expected: str) -> None:
    assert normalize("email", raw, platform="google") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Google's own examples (Data Manager API, "Format user data")
        ("cloudy.sanfrancisco+shopping@gmail.com", "cloudysanfrancisco@gmail.com"),
        ("user.name+NYC@Example.com", "user.name+nyc@example.com"),  # other domains keep dots and +
        ("jo.hn+promo@gmail.com", "john@gmail.com"),
        ("Jo.Hn+a.b+c@GoogleMail.com", "john@googlemail.com"),  # everything after the first + goes, dots too
        ("john+@gmail.com", "john@gmail.com"),
    ],
)
def test_google_gmail_plus_tag_rule(raw: str, expected: str) -> None:
    assert normalize("email", raw, platform="google") == expected


def test_meta_keeps_plus_tags_and_dots_of_gmail_addresses() -> None:
    assert normalize("email", "Jo.Hn+promo@gmail.com", platform="meta") == "jo.hn+promo@gmail.com"


@pytest.mark.parametrize("raw", ["+promo@gmail.com", ".+x@googlemail.com"])
def test_gmail_local_part_of_only_a_tag_is_malformed_for_google(raw: str) -> None:
    assert normalize_with_reason("email", raw, platform="google") == (None, "malformed_email")
    assert normalize("email", raw, platform="meta") == raw.lower()  # Meta's rule has no gmail part


def test_google_removes_inner_whitespace_and_meta_refuses_it() -> None:
    # Google: "Trim leading, trailing and intermediate whitespace"; Meta: "Trim leading and trailing whitespace".
    assert normalize("email", " john smith@example.com ", platform="google") == "johnsmith@example.com"
    assert normalize("email", "jo hn @ exa mple.com", platform="google") == "john@example.com"
    assert normalize_with_reason("email", "john smith@example.com", platform="meta") == (
        None,
        "malformed_email",
    )
    assert normalize_with_reason("email", "john@exa mple.com", platform="meta") == (None, "malformed_email")


@pytest.mark.parametrize("platform", ["meta", "google"])
def test_idn_domain_in_punycode_and_unicode_give_one_hash(platform: str) -> None:
    unicode_form = hash_identifier("email", "ann@exämple.com", platform=platform)
    assert unicode_form is not None
    assert hash_identifier("email", "ann@xn--exmple-cua.com", platform=platform) == unicode_form
    assert hash_identifier("email", "Ann@XN--EXMPLE-CUA.COM", platform=platform) == unicode_form
    assert hash_identifier("email", "ann@EXÄMPLE.com", platform=platform) == unicode_form
    assert normalize("email", "ann@xn--mnchen-3ya.de", platform=platform) == "ann@münchen.de"
    assert normalize("email", "ann@mail.xn--fiqs8s", platform=platform) == "ann@mail.中国"


@pytest.mark.parametrize("platform", ["meta", "google"])
@pytest.mark.parametrize("raw", ["ann@xn--.com", "ann@xn--abc-.com", "ann@xn--a-ecp.xn--\u00ff.com"])
def test_broken_punycode_labels_are_malformed(raw: str, platform: str) -> None:
    assert normalize_with_reason("email", raw, platform=platform) == (None, "malformed_email")


@pytest.mark.parametrize("platform", ["meta", "google"])
def test_full_width_and_ideographic_stops_fold_to_ascii(platform: str) -> None:
    # NFKC: full-width letters, digits and "＠" from CJK keyboards are the ASCII address; "。" separates labels.
    assert normalize("email", "ｊｏｈｎ１＠ｅｘａｍｐｌｅ．ｃｏｍ", platform=platform) == "john1@example.com"
    assert normalize("email", "john@example\u3002com", platform=platform) == "john@example.com"
    assert normalize("email", "john@example\uff61com", platform=platform) == "john@example.com"
    assert normalize("email", "jo\u3002hn@example.com", platform=platform) == "jo\u3002hn@example.com"


@pytest.mark.parametrize("platform", ["meta", "google"])
def test_turkish_capital_dotted_i_lowercases_to_plain_i(platform: str) -> None:
    assert normalize("email", "İLKER@Örnek.com.tr", platform=platform) == "ilker@örnek.com.tr"


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
        "john@example",
        "john@.com",
        "john@example.",
        "john@example..com",
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
