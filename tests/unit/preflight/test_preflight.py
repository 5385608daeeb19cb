"""Preflight: the Blob SAS's expiry from its ``se`` field, and Meta's view of the token and audience through the
real SDK against the Meta emulator's ``debug_token`` (each finding names who must act; errors stop the sync)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from meta_sync_support import ACCOUNT, SECRET, TOKEN

from airflow_provider_cio.preflight.findings import ERROR, WARNING, raise_for
from airflow_provider_cio.preflight.sas import check_sas, sas_expiry, sas_from_connection_string
from airflow_provider_cio.sync.errors import ConfigurationError
from cio_devkit.emulators.meta import MetaGraphEmulator

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def real_sas(expiry: datetime) -> str:
    """A container SAS as the Azure SDK writes it (the format our parser must read)."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        "devstoreaccount1",
        "customerio",
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=expiry,
    )


def test_sas_expiry_levels() -> None:
    (expired,) = check_sas(real_sas(NOW - timedelta(minutes=1)), now=NOW)
    assert expired.level == ERROR and "expired at 2026-12-06T11:59:00Z" in expired.message
    (soon,) = check_sas(real_sas(NOW + timedelta(days=3)), now=NOW, warn_days=14)
    assert (
        soon.level == WARNING and "in 3.0 day(s)" in soon.message and "storage account" in soon.who_must_act
    )
    assert check_sas(real_sas(NOW + timedelta(days=30)), now=NOW, warn_days=14) == []
    assert check_sas("sv=2024-11-04&se=2026-12-10&sp=r&sig=x", now=NOW)[0].message.endswith("in 3.5 day(s)")
    (unknown,) = check_sas("sv=2024-11-04&si=policy1&sig=x", now=NOW)
    assert unknown.level == WARNING and "stored access policy" in unknown.message
    (garbage,) = check_sas("se=tomorrow&sig=x", now=NOW)
    assert garbage.level == ERROR
    assert "sig=" not in expired.line()  # the signature never appears in a message


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_any_sdk_written_expiry_reads_back(expiry: datetime) -> None:
    assert sas_expiry(real_sas(expiry)) == expiry.replace(microsecond=0)


@given(st.text())
def test_any_token_text_gives_a_date_nothing_or_a_value_error(token: str) -> None:
    try:
        found = sas_expiry(token)
    except ValueError:
        return
    assert found is None or found.tzinfo is not None


def test_sas_in_a_connection_string() -> None:
    sas = real_sas(NOW + timedelta(days=1))
    conn = f"BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;SharedAccessSignature={sas}"
    assert sas_from_connection_string(conn) == sas
    assert sas_from_connection_string("AccountName=a;AccountKey=k") is None


def test_blob_connection_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_cio.hooks.blob import sas_findings

    conn = {"conn_type": "wasb", "host": "http://127.0.0.1:1/devstoreaccount1"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_PF_SAS", json.dumps({**conn, "extra": {"sas_token": real_sas(NOW + timedelta(days=2))}})
    )
    monkeypatch.setenv("AIRFLOW_CONN_PF_KEY", json.dumps({**conn, "extra": {"account_key": AZURITE_KEY}}))
    (soon,) = sas_findings("pf_sas", now=NOW, warn_days=7)
    assert soon.level == WARNING and "in 2.0 day(s)" in soon.message
    assert sas_findings("pf_key", now=NOW) == []


@pytest.fixture
def meta_hook(emulator: MetaGraphEmulator, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from airflow_provider_cio.hooks.meta import MetaCustomAudienceHook

    def hook(token: str = TOKEN) -> MetaCustomAudienceHook:
        conn = {
            "conn_type": "meta_custom_audience",
            "password": token,
            "host": emulator.url,
            "extra": {"ad_account_id": ACCOUNT, "app_secret": SECRET},
        }
        monkeypatch.setenv("AIRFLOW_CONN_PF_META", json.dumps(conn))
        return MetaCustomAudienceHook("pf_meta")

    return hook


def test_meta_token_healthy_expiring_and_lacking_scopes(emulator: MetaGraphEmulator, meta_hook) -> None:  # type: ignore[no-untyped-def]
    assert meta_hook().preflight(now=NOW) == []  # never expires, every scope
    emulator.configure(token_expires_at=int((NOW + timedelta(days=5)).timestamp()))
    (soon,) = meta_hook().preflight(now=NOW, warn_days=14)
    assert (soon.level, soon.check) == (WARNING, "meta_token_expiry") and "in 5.0 day(s)" in soon.message
    assert raise_for([soon]) == [soon]  # a warning does not stop the sync
    ok, message = meta_hook().test_connection()
    assert ok and "meta_token_expiry" in message
    emulator.configure(
        token_scopes=("ads_read",), token_expires_at=int((NOW - timedelta(hours=1)).timestamp())
    )
    findings = meta_hook().preflight(now=NOW)
    assert {(f.level, f.check) for f in findings} == {
        (ERROR, "meta_token_scopes"),
        (ERROR, "meta_token_expiry"),
    }
    with pytest.raises(ConfigurationError, match="ads_management") as raised:
        raise_for(findings)
    assert "Meta token" in raised.value.who_must_act
    assert TOKEN not in str(raised.value)


def test_meta_flagged_audience_and_invalid_token(emulator: MetaGraphEmulator, meta_hook) -> None:  # type: ignore[no-untyped-def]
    destination = meta_hook().get_destination()
    audience_id = destination.ensure_audience("cio/dev/demo/vip", description="test")
    assert meta_hook().preflight(audience_id=audience_id, now=NOW) == []
    emulator.flag_audience(audience_id)
    (flagged,) = meta_hook().preflight(audience_id=audience_id, now=NOW)
    assert (flagged.level, flagged.check) == (ERROR, "meta_audience_flagged") and "471" in flagged.message
    with pytest.raises(ConfigurationError) as raised:
        meta_hook(token="wrong-token").preflight(now=NOW)
    assert "wrong-token" not in str(raised.value)
    ok, _ = meta_hook(token="wrong-token").test_connection()
    assert not ok


def test_the_sync_operators_preflight_stops_on_errors_and_logs_warnings(
    emulator: MetaGraphEmulator,
    meta_hook,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from airflow_provider_cio.operators._preflight import run_preflight

    meta_hook()  # sets AIRFLOW_CONN_PF_META
    now = datetime.now(UTC)
    conn = {"conn_type": "wasb", "host": "http://127.0.0.1:1/devstoreaccount1"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_PF_SAS", json.dumps({**conn, "extra": {"sas_token": real_sas(now + timedelta(days=3))}})
    )
    operator = SimpleNamespace(platform="meta", conn_id="pf_meta", wasb_conn_id="pf_sas")
    (warning,) = run_preflight(operator, "cio/dev/demo/vip", warn_days=14)
    assert warning.startswith("[warning] blob_sas_expiry") and "storage account" in warning
    emulator.configure(token_expires_at=int((now - timedelta(days=1)).timestamp()))
    with pytest.raises(ConfigurationError, match="meta_token_expiry") as raised:
        run_preflight(operator, "cio/dev/demo/vip", warn_days=14)
    assert raised.value.error_class == "configuration" and "Meta token" in raised.value.who_must_act
    emulator.configure(token_expires_at=0)
    emulator.inject("throttle", times=5, on="any", minutes=1)  # a check that cannot run never fails the sync
    assert run_preflight(operator, "cio/dev/demo/vip", warn_days=14) == [warning]
    assert emulator.requests[-1].get("fault") == "throttle"
