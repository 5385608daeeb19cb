"""What facebook-business's own helper gets wrong, side by side with our answer for the same input."""

from __future__ import annotations

import hashlib

import pytest
from facebook_business.adobjects.customaudience import CustomAudience

from airflow_provider_cio.identity import hash_identifier

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _sdk_hash(key: str, value: object) -> str:
    params = CustomAudience.format_params([key], [[value]], is_raw=True)
    return params["payload"]["data"][0][0]


def test_sdk_drops_non_ascii_letters_from_names_and_we_keep_them() -> None:
    assert _sdk_hash("FN", "José") == hashlib.sha256(b"jos").hexdigest()  # the bug: "é" is gone
    assert (
        hash_identifier("first_name", "José", platform="meta") == hashlib.sha256("josé".encode()).hexdigest()
    )
    assert _sdk_hash("LN", "李") == EMPTY_SHA256  # a Chinese surname becomes the hash of nothing
    assert hash_identifier("last_name", "李", platform="meta") == hashlib.sha256("李".encode()).hexdigest()


def test_sdk_hashes_empty_values_and_we_drop_them() -> None:
    assert _sdk_hash("EMAIL", "") == EMPTY_SHA256
    assert _sdk_hash("EMAIL", "   ") == EMPTY_SHA256
    assert hash_identifier("email", "   ", platform="meta") is None


def test_sdk_hashes_malformed_emails_and_we_drop_them() -> None:
    assert _sdk_hash("EMAIL", "not-an-email") == hashlib.sha256(b"not-an-email").hexdigest()
    assert hash_identifier("email", "not-an-email", platform="meta") is None


def test_sdk_adds_no_country_code_and_keeps_trunk_zeros() -> None:
    assert _sdk_hash("PHONE", "(650) 555-1212") == hashlib.sha256(b"6505551212").hexdigest()
    assert hash_identifier("phone", "(650) 555-1212", platform="meta", default_country="US") == (
        hashlib.sha256(b"16505551212").hexdigest()
    )
    assert _sdk_hash("PHONE", "+44 (0)20 7123 4567") == hashlib.sha256(b"4402071234567").hexdigest()
    assert hash_identifier("phone", "+44 (0)20 7123 4567", platform="meta") == (
        hashlib.sha256(b"442071234567").hexdigest()
    )


def test_sdk_crashes_on_none_and_we_drop_it() -> None:
    with pytest.raises(AttributeError):
        _sdk_hash("EMAIL", None)
    assert hash_identifier("email", None, platform="meta") is None


def test_sdk_and_we_agree_on_plain_ascii_values() -> None:
    assert _sdk_hash("EMAIL", "  John_Smith@Gmail.com ") == hash_identifier(
        "email", "  John_Smith@Gmail.com ", platform="meta"
    )
    assert _sdk_hash("FN", "Mary-Ann") == hash_identifier("first_name", "Mary-Ann", platform="meta")
    assert _sdk_hash("PHONE", "+1 (650) 555-1212") == hash_identifier(
        "phone", "+1 (650) 555-1212", platform="meta"
    )
