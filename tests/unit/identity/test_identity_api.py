"""Public surface: kinds and platforms, what is hashed, hashing and prepare."""

from __future__ import annotations

import hashlib

import pytest

from airflow_provider_cio.identity import (
    KINDS,
    hash_column,
    hash_identifier,
    is_hashed,
    kinds_for,
    normalize,
    normalize_column,
    normalize_with_reason,
    prepare,
)


def test_known_sha256_of_published_values() -> None:
    assert (
        hash_identifier("email", "test@example.com", platform="meta")
        == "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    )
    assert hash_identifier("email", "  Test@Example.com ", platform="google") == hash_identifier(
        "email", "test@example.com", platform="meta"
    )
    assert (
        hash_identifier("phone", "+1 (650) 555-1212", platform="meta")
        == hashlib.sha256(b"16505551212").hexdigest()
    )
    assert (
        hash_identifier("phone", "+1 (650) 555-1212", platform="google")
        == hashlib.sha256(b"+16505551212").hexdigest()
    )
    assert (
        hash_identifier("first_name", "José", platform="meta") == hashlib.sha256("josé".encode()).hexdigest()
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", ["", "   ", None])
def test_empty_is_never_hashed(kind: str, value: str | None) -> None:
    assert hash_identifier(kind, value, platform="meta") is None
    assert prepare(kind, value, platform="meta") is None


def test_hash_is_64_lowercase_hex() -> None:
    digest = hash_identifier("last_name", "Müller", platform="meta")
    assert digest is not None and len(digest) == 64 and digest == digest.lower()
    int(digest, 16)


def test_unknown_kind_and_platform_raise_naming_them() -> None:
    with pytest.raises(ValueError, match="'birthday'"):
        normalize("birthday", "x", platform="meta")
    with pytest.raises(ValueError, match="'tiktok'"):
        hash_identifier("email", "a@b.com", platform="tiktok")
    with pytest.raises(ValueError, match="'city'.*'google'"):
        normalize("city", "Paris", platform="google")
    with pytest.raises(ValueError, match="'tiktok'"):
        kinds_for("tiktok")


def test_which_kinds_are_hashed() -> None:
    assert {k for k in KINDS if is_hashed(k, "meta")} == set(KINDS) - {"external_id"}
    assert {k for k in kinds_for("google") if is_hashed(k, "google")} == {
        "email",
        "phone",
        "first_name",
        "last_name",
    }
    assert set(kinds_for("google")) == {
        "email",
        "phone",
        "first_name",
        "last_name",
        "zip",
        "country",
        "external_id",
    }


def test_prepare_hashes_or_sends_plain_as_the_platform_wants() -> None:
    assert prepare("country", "United States", platform="google") == "US"
    assert prepare("zip", "94105-1234", platform="google") == "94105"
    assert prepare("external_id", " c-1 ", platform="meta") == "c-1"
    assert prepare("country", "United States", platform="meta") == hashlib.sha256(b"us").hexdigest()
    assert prepare("email", "A@B.com", platform="google") == hashlib.sha256(b"a@b.com").hexdigest()
    # hash_identifier always hashes, even kinds a platform sends plain
    assert hash_identifier("country", "US", platform="google") == hashlib.sha256(b"US").hexdigest()


@pytest.mark.parametrize(
    ("value", "reason"), [(True, "not_a_string"), (3.5, "not_a_string"), (float("nan"), "empty")]
)
def test_odd_python_values_are_dropped_not_raised(value: object, reason: str) -> None:
    assert normalize_with_reason("zip", value, platform="meta") == (None, reason)


def test_numpy_and_other_str_subclasses_are_normalized_not_passed_through() -> None:
    # A NumPy array of strings hands over numpy.str_, a str subclass: it was once returned as the "normalized"
    # value unchanged (raw and unvalidated); it must get exactly the answer of the plain str.
    import numpy as np

    for platform in ("meta", "google"):
        assert normalize_with_reason(
            "email", np.str_(" A.B@Gmail.com "), platform=platform
        ) == normalize_with_reason("email", " A.B@Gmail.com ", platform=platform)
        assert normalize_with_reason("email", np.str_("garbage"), platform=platform) == (
            None,
            "malformed_email",
        )
    column = hash_column("phone", np.array(["+1 650 555 1212", "call me"]), platform="meta")
    assert column.values == [hashlib.sha256(b"16505551212").hexdigest(), None]
    assert column.reasons == {"malformed_phone": 1}


def test_numpy_integers_read_like_ints_and_numpy_bools_are_refused() -> None:
    import numpy as np

    assert normalize_column("zip", np.array([94105, 10001]), platform="meta").values == ["94105", "10001"]
    assert normalize_with_reason("zip", np.bool_(True), platform="meta") == (None, "not_a_string")
    assert normalize_with_reason("zip", np.float64(94105.0), platform="meta") == (None, "not_a_string")
