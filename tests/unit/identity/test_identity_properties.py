"""Property-based tests (Hypothesis) of identity normalization.

The invariants: every input value is either kept (a normalized value) or dropped with a named reason, whatever its
bytes, encoding, Python type or size; nothing raises; the column path agrees with the scalar path; a kept value
never changes meaning (an address keeps its mailbox and domain, a phone keeps its digits, a name its letters) and
is stable (normalizing it again gives it back); the spellings of one value that people and systems produce (case,
padding, decomposed accents, full-width forms, punycode domains, phone formats) give one hash.

The oracles below are written from the platforms' rules, not from our code: they rebuild the expected answer from
the parts the generator chose. ``make test`` runs 200 examples per property, the same ones every run;
``CIO_CHAOS=full`` (``make chaos``) runs 2,000 fresh ones per property.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections import Counter

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.identity import (
    ALL_REASONS,
    hash_column,
    hash_identifier,
    is_hashed,
    kinds_for,
    normalize,
    normalize_column,
    normalize_with_reason,
    prepare,
    prepare_column,
)
from airflow_provider_cio.identity.countries import CALLING_CODES

FULL = os.environ.get("CIO_CHAOS", "").lower() == "full"
PROPERTY = settings(
    max_examples=2000 if FULL else 200,
    derandomize=not FULL,  # make test: the same examples every run (no flaky CI); make chaos: fresh ones
    deadline=None,  # no timing assertions: the machine is shared
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CASES = [
    (platform, kind, default)
    for platform in ("meta", "google")
    for kind in kinds_for(platform)
    for default in ((None, "US", "GB", "DE", "FR", "IT", "AU", "RU") if kind == "phone" else (None,))
]
ENCODINGS = ("utf-8", "latin-1", "cp1252", "utf-16-le", "shift_jis", "koi8-r", "gb18030")
# Characters that steer random text towards the shapes the normalizers branch on.
SHAPING = list(
    "aZé.+@-_ 0123456789()/\t'\u3002\uff20\uff0e\uff10\uff11\u2013\u00a0\u200b\ufeffİıßΣς李ｶ\u0301xn-"
)

# ---- strategies ----------------------------------------------------------------------------------------------

decoded_bytes = st.tuples(st.binary(max_size=80), st.sampled_from(ENCODINGS)).map(
    lambda pair: pair[0].decode(pair[1], errors="replace")
)
shaped_text = st.text(alphabet=st.sampled_from(SHAPING), max_size=40)
short_text = st.one_of(st.text(max_size=40), shaped_text, decoded_bytes)
# Sizes: a long value must neither raise nor blow up (the email pattern has nothing to backtrack into).
any_text = st.one_of(short_text, st.text(min_size=500, max_size=3000))
any_value = st.one_of(
    any_text,
    st.binary(max_size=40),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dates(),
    # what a NumPy array hands over: str_ (a str subclass), integer, bool and float scalars
    short_text.map(np.str_),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(np.int64),
    st.booleans().map(np.bool_),
    st.floats().map(np.float64),
)
cases = st.sampled_from(CASES)


def _kept_or_reason(result: tuple[str | None, str | None]) -> str | None:
    value, reason = result
    assert (value is None) != (reason is None), result
    if value is None:
        assert reason in ALL_REASONS
        return None
    assert isinstance(value, str) and value and value == value.strip(), value
    return value


# ---- every row is kept or dropped with a reason ----------------------------------------------------------------


@PROPERTY
@given(case=cases, value=any_value)
def test_every_value_is_kept_or_dropped_with_a_known_reason(
    case: tuple[str, str, str | None], value: object
) -> None:
    platform, kind, default = case
    kept = _kept_or_reason(normalize_with_reason(kind, value, platform=platform, default_country=default))
    digest = hash_identifier(kind, value, platform=platform, default_country=default)
    wire = prepare(kind, value, platform=platform, default_country=default)
    if kept is None:
        assert digest is None and wire is None
        return
    assert digest == hashlib.sha256(kept.encode()).hexdigest() != EMPTY_SHA256
    assert wire == (digest if is_hashed(kind, platform) else kept)


@PROPERTY
@given(
    case=cases,
    values=st.lists(st.one_of(short_text, st.none(), st.integers(), st.floats(), st.binary()), max_size=30),
)
def test_column_path_agrees_with_scalar_path(case: tuple[str, str, str | None], values: list[object]) -> None:
    platform, kind, default = case
    scalar = [normalize_with_reason(kind, v, platform=platform, default_country=default) for v in values]
    column = normalize_column(kind, values, platform=platform, default_country=default)
    assert column.values == [value for value, _ in scalar]
    assert column.reasons == dict(Counter(reason for _, reason in scalar if reason is not None))
    assert column.kept + column.dropped == len(values)
    hashed = hash_column(kind, values, platform=platform, default_country=default)
    assert hashed.values == [
        hash_identifier(kind, v, platform=platform, default_country=default) for v in values
    ]
    prepared = prepare_column(kind, values, platform=platform, default_country=default)
    assert prepared.values == [prepare(kind, v, platform=platform, default_country=default) for v in values]


@PROPERTY
@given(case=cases, values=st.lists(st.one_of(short_text, st.none()), max_size=30))
def test_arrow_columns_give_the_list_answers(
    case: tuple[str, str, str | None], values: list[str | None]
) -> None:
    platform, kind, default = case
    arrow = pa.array(values, type=pa.large_string())
    assert hash_column(kind, arrow, platform=platform, default_country=default) == hash_column(
        kind, values, platform=platform, default_country=default
    )


@PROPERTY
@given(case=cases, value=any_text)
def test_a_kept_value_is_stable(case: tuple[str, str, str | None], value: str) -> None:
    """Normalizing a normalized value gives it back (Meta phones are re-read with their ``+``)."""
    platform, kind, default = case
    kept = normalize(kind, value, platform=platform, default_country=default)
    assume(kept is not None)
    assert kept is not None
    again = "+" + kept if kind == "phone" and platform == "meta" else kept
    assert normalize(kind, again, platform=platform, default_country=default) == kept


# ---- emails: never changed in meaning, one hash per address ----------------------------------------------------

LOCAL_ASCII = "abcdefghijklmnopqrstuvwxyz0123456789_-"
# Lowercase precomposed letters that are their own NFKC form and lowercase: the shape of a real IDN label.
UNICODE_LETTERS = "äöüéèñçøåłşğıžžěřůαβγδжщюяשלוםاب中国日本한국ไทย"
ascii_label = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=12
)
unicode_label = st.text(
    alphabet=st.sampled_from(UNICODE_LETTERS + "abcdefghij-"), min_size=1, max_size=10
).filter(lambda label: not label.isascii())
tld = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=2, max_size=6)


@st.composite
def addresses(draw: st.DrawFn) -> tuple[str, str, str]:
    """(written address, expected local part, expected domain) for an address people could own."""
    words = draw(
        st.lists(
            st.text(alphabet=st.sampled_from(LOCAL_ASCII), min_size=1, max_size=8), min_size=1, max_size=3
        )
    )
    local = ".".join(words)
    if draw(st.booleans()):
        local += "+" + draw(st.text(alphabet=st.sampled_from(LOCAL_ASCII + "."), max_size=8))
    if draw(st.integers(0, 3)) == 0:
        labels = [draw(st.sampled_from(["gmail", "googlemail"])), "com"]
    else:
        labels = draw(st.lists(st.one_of(ascii_label, unicode_label), min_size=1, max_size=3)) + [draw(tld)]
    assume(not any(label.startswith("xn--") for label in labels))
    domain = ".".join(labels)
    written_labels = [
        "xn--" + label.encode("punycode").decode("ascii")
        if not label.isascii() and draw(st.booleans())
        else label
        for label in labels
    ]
    written = f"{local}@{'.'.join(written_labels)}"
    if draw(st.booleans()):  # typed in mixed case
        written = "".join(ch.upper() if ch.isascii() and draw(st.booleans()) else ch for ch in written)
    if draw(st.booleans()):  # combining accents instead of precomposed letters
        written = unicodedata.normalize("NFD", written)
    written = (
        draw(st.sampled_from(["", " ", "\t", "\ufeff "])) + written + draw(st.sampled_from(["", " ", "\n"]))
    )
    return written, local, domain


@PROPERTY
@given(address=addresses())
def test_email_keeps_its_mailbox_and_domain_meta(address: tuple[str, str, str]) -> None:
    written, local, domain = address
    # Meta: trim and lowercase, nothing else; the domain in one (Unicode) form whatever form it was written in.
    assert normalize("email", written, platform="meta") == f"{local}@{domain}"


@PROPERTY
@given(address=addresses())
def test_email_keeps_its_mailbox_and_domain_google(address: tuple[str, str, str]) -> None:
    written, local, domain = address
    if domain in ("gmail.com", "googlemail.com"):
        # Data Manager: for gmail.com / googlemail.com drop the dots before the @ and the + with what follows.
        mailbox = local.partition("+")[0].replace(".", "")
        expected = f"{mailbox}@{domain}" if mailbox else None
    else:
        expected = f"{local}@{domain}"
    assert normalize("email", written, platform="google") == expected


@PROPERTY
@given(
    label=unicode_label, local=st.text(alphabet=st.sampled_from(LOCAL_ASCII), min_size=1, max_size=8), top=tld
)
def test_punycode_and_unicode_domains_hash_alike(label: str, local: str, top: str) -> None:
    ace = "xn--" + label.encode("punycode").decode("ascii")
    for platform in ("meta", "google"):
        unicode_hash = hash_identifier("email", f"{local}@{label}.{top}", platform=platform)
        assert unicode_hash is not None
        assert hash_identifier("email", f"{local}@{ace}.{top}", platform=platform) == unicode_hash
        assert (
            hash_identifier("email", f"{local}@{ace.upper()}.{top.upper()}", platform=platform)
            == unicode_hash
        )


# ---- phones: digits never change, formats do not matter -----------------------------------------------------------

TABLE = sorted(CALLING_CODES)
FULL_WIDTH_DIGITS = {ord(d): chr(0xFF10 + int(d)) for d in "0123456789"}


def _is_typed_placeholder(national: str) -> bool:
    """All one digit, or a 1234567890 / 9876543210 run: what people type when they have no number."""
    return len(set(national)) == 1 or national in "1234567890123456789" or national in "9876543210987654321"


def _is_fictional(code: str, national: str) -> bool:
    """The ranges numbering plans keep for fiction, from their published lists (see identity/placeholders.py)."""
    if code == "1":
        return national[3:6] == "555" and national[6:8] == "01"
    if code == "44":
        return len(national) == 10 and (
            national.startswith(("7700900", "1632", "2079460"))
            or any(national.startswith(area + "4960") for area in ("113", "114", "115", "116", "117", "118",
                                                                    "121", "131", "141", "151", "161"))
        )  # fmt: skip
    if code == "61":
        return (len(national) == 9 and national[0] in "2378" and national[1:5] in ("5550", "7010")) or national in (
            "491570110", "491570156", "491570157", "491570158", "491570159", "1800160401", "1800975707",
            "1900654321",
        )  # fmt: skip
    return False


@st.composite
def phone_numbers(draw: st.DrawFn) -> tuple[str, str, str, str | None]:
    """(written number, calling code, national significant number, default country used to read it)."""
    country = draw(st.sampled_from(TABLE))
    code, trunk = CALLING_CODES[country]
    if code == "1":
        national = (
            str(draw(st.integers(2, 9))) + draw(st.text("0123456789", min_size=2, max_size=2))
            + str(draw(st.integers(2, 9))) + draw(st.text("0123456789", min_size=6, max_size=6))
        )  # fmt: skip
    else:
        size = draw(st.integers(max(8 - len(code), 6), 15 - len(code)))
        national = str(draw(st.integers(1, 9))) + draw(
            st.text("0123456789", min_size=size - 1, max_size=size - 1)
        )
    assume(not _is_typed_placeholder(national))
    groups, rest = [], national
    while rest:
        cut = draw(st.integers(1, 4))
        groups.append(rest[:cut])
        rest = rest[cut:]
    sep = draw(st.sampled_from([" ", "-", ".", "", "/", "\u2013", "\u00a0"]))
    body = sep.join(groups)
    if draw(st.booleans()) and len(groups) > 1:
        body = f"({groups[0]}) " + sep.join(groups[1:])
    shape = draw(st.sampled_from(["plus", "double_zero", "national", "trunk_marker"]))
    default: str | None = draw(st.sampled_from([None, "US", "GB"]))
    if shape == "plus":
        written = f"+{code} {body}"
    elif shape == "double_zero":
        written = f"00{code} {body}"
    elif shape == "trunk_marker" and trunk == "0":
        written = f"+{code} (0){body}"
    else:
        written = f"{trunk}{body}" if trunk and (code != "1" or draw(st.booleans())) else body
        default = country
    if draw(st.booleans()):
        written = written.translate(FULL_WIDTH_DIGITS).replace("+", "\uff0b")
    return (
        draw(st.sampled_from(["", " ", "\t"])) + written + draw(st.sampled_from(["", " "])),
        code,
        national,
        default,
    )


@PROPERTY
@given(number=phone_numbers())
def test_phone_keeps_its_digits_whatever_the_format(number: tuple[str, str, str, str | None]) -> None:
    written, code, national, default = number
    meta = normalize_with_reason("phone", written, platform="meta", default_country=default)
    google = normalize_with_reason("phone", written, platform="google", default_country=default)
    if _is_fictional(code, national):
        assert meta == google == (None, "placeholder_phone")
        return
    # Meta: digits with the country code, no "+"; Google: E.164 with the "+" (the same digits).
    assert meta == (code + national, None)
    assert google == ("+" + code + national, None)


@PROPERTY
@given(
    area=st.integers(200, 999),
    line=st.integers(0, 99),
    shape=st.sampled_from(
        ["+1 ({a}) 555-01{l:02d}", "{a}-555-01{l:02d}", "1 {a} 555 01{l:02d}", "{a}5550 1{l:02d}"]
    ),
)
def test_nanp_fictional_block_is_a_placeholder_in_every_area_code(area: int, line: int, shape: str) -> None:
    written = shape.format(a=area, l=line)
    for platform in ("meta", "google"):
        result = normalize_with_reason("phone", written, platform=platform, default_country="US")
        assert result[0] is None  # never a hash of a fake number
        assert result[1] in ("placeholder_phone", "malformed_phone")  # area codes 0xx/1xx are malformed first


@PROPERTY
@given(rest=st.text("0123456789", min_size=5, max_size=12), plus=st.sampled_from(["+", "00", "\uff0b"]))
def test_reserved_country_code_999_is_a_placeholder(rest: str, plus: str) -> None:
    for platform in ("meta", "google"):
        result = normalize_with_reason("phone", f"{plus}999 {rest}", platform=platform, default_country="US")
        assert result[0] is None and result[1] in ("placeholder_phone", "too_long")


# ---- names: the same letters, whatever the spelling -----------------------------------------------------------------

NAME_LETTERS = "abcdefghijklmnopqrstuvwxyzéèüöäñçøåłžαβγжя李王김ا"
# Letters whose upper case lowers back to themselves (not "ß" -> "SS"), so a shouted name is the same name.
names = st.text(alphabet=st.sampled_from(NAME_LETTERS + " -'."), min_size=1, max_size=24)
FULL_WIDTH_ASCII = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def _squeezed(s: str) -> str:
    return " ".join(s.split())


@PROPERTY
@given(name=names, kind=st.sampled_from(["first_name", "last_name"]), data=st.data())
def test_name_spellings_hash_alike(name: str, kind: str, data: st.DataObject) -> None:
    variants = [
        name.upper(),
        name.title(),
        f"  {name}\t",
        unicodedata.normalize("NFD", name),
        name.translate(FULL_WIDTH_ASCII) if name.isascii() else name,
        _squeezed(name).replace(" ", data.draw(st.sampled_from(["  ", " \u00a0"]))),
    ]
    for platform in ("meta", "google"):
        plain = hash_identifier(kind, name, platform=platform)
        for variant in variants:
            assert hash_identifier(kind, variant, platform=platform) == plain, (platform, variant)


@PROPERTY
@given(name=names)
def test_meta_name_keeps_exactly_its_letters(name: str) -> None:
    letters = "".join(ch for ch in unicodedata.normalize("NFKC", name.lower()) if ch.isalpha())
    assert normalize("first_name", name, platform="meta") == (letters or None)


@PROPERTY
@given(name=names, kind=st.sampled_from(["first_name", "last_name"]))
def test_google_name_only_loses_whitespace_and_a_title_or_suffix(name: str, kind: str) -> None:
    written = _squeezed(name.lower())
    kept = normalize(kind, name, platform="google")
    if not written:
        assert kept is None
        return
    assert kept is not None and kept in written  # a contiguous piece: nothing inside the name changed
    removed = written.replace(kept, "", 1).strip(" ,").split()
    allowed = (
        {"mr", "mrs", "ms", "miss", "mx", "dr", "prof"}
        if kind == "first_name"
        else {"jr", "sr", "ii", "iii", "iv"}
    )
    assert all(word.rstrip(".").rstrip(",").strip(",") in allowed for word in removed), (written, kept)
