"""GoogleCustomerMatchHook reads the membership keys for both backends and the destination refuses bad ones, naming
the key; the Google Ads destination it builds talks to the emulator through the real client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google_support import CUSTOMER, email_key, emails_in, google_emulator, member

from airflow_provider_cio.hooks.google import GoogleCustomerMatchHook
from airflow_provider_cio.sync.errors import ConfigurationError
from cio_devkit.emulators.google.server import GoogleEmulator


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    """The Google emulator (tests/unit/conftest.py serves the Meta one under this name)."""
    yield from google_emulator()


# The emulator's certificate is trusted before this process opens its first TLS channel (google_support.google_emulator).
pytestmark = pytest.mark.usefixtures("emulator")


def connect(monkeypatch: pytest.MonkeyPatch, api: str, host: str = "127.0.0.1:1", **extra: Any) -> Any:
    conn = {
        "conn_type": "google_customer_match",
        "host": host,
        "password": "dev-token",
        "extra": {"api": api, "credentials_json": {"type": "anonymous"}, "customer_id": CUSTOMER, **extra},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CIO_GOOGLE_TEST", json.dumps(conn))
    return GoogleCustomerMatchHook("cio_google_test").get_destination()


@pytest.mark.parametrize("api", ["google_ads", "data_manager"])
def test_both_backends_get_the_membership_keys(monkeypatch: pytest.MonkeyPatch, api: str) -> None:
    dest = connect(monkeypatch, api, membership_life_span_days="90", refresh_after_days=20)
    assert (dest.membership_life_span_days, dest.refresh_after_days) == (90, 20)
    default = connect(monkeypatch, api)
    assert (default.membership_life_span_days, default.refresh_after_days) == (540, 180)


@pytest.mark.parametrize("api", ["google_ads", "data_manager"])
@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"membership_life_span_days": 541}, "membership_life_span_days"),
        ({"membership_life_span_days": 10_000}, "membership_life_span_days"),
        ({"membership_life_span_days": "ninety"}, "membership_life_span_days"),
        ({"membership_life_span_days": 30, "refresh_after_days": 30}, "refresh_after_days"),
    ],
)
def test_a_bad_value_is_a_configuration_error_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, api: str, extra: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigurationError, match=key) as err:
        connect(monkeypatch, api, **extra)
    assert err.value.error_class == "configuration"


def test_the_ads_destination_from_the_hook_creates_lists_with_the_life_span(
    monkeypatch: pytest.MonkeyPatch, emulator: GoogleEmulator
) -> None:
    dest = connect(monkeypatch, "google_ads", host=emulator.target, membership_life_span_days=45)
    dest.sleep = lambda _s: None
    list_id = dest.ensure_audience("cio/dev/acme/vip")
    session = dest.open_session(list_id, "add", total_members=1)
    dest.send_batch(list_id, session, [member(1)], seq=1, last=True)
    assert dest.close_session(list_id, session)["failed_seqs"] == []
    assert emulator.membership_life_span(CUSTOMER, int(list_id)) == 45
    assert emails_in(emulator.members(CUSTOMER, int(list_id))) == {email_key(1)}
