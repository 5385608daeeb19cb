"""The Meta destination drives the real facebook-business SDK against the Graph emulator."""

from __future__ import annotations

import json

import pytest
from meta_sync_support import ACCOUNT, SECRET, TOKEN, make_members, raw_email, sha

from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
from airflow_provider_cio.destinations.meta.schema import build_payload, rows_for
from airflow_provider_cio.sync import ConfigurationError, DataError, Member, PlatformError, SessionState


def test_ping_reads_the_ad_account_and_never_installs_a_default_api(emulator, destination):
    from facebook_business.api import FacebookAdsApi

    assert destination.ping()["id"] == ACCOUNT
    assert FacebookAdsApi.get_default_api() is None
    assert destination.test_connection()[0] is True
    request = emulator.requests[-1]
    assert request["path"] == f"/v26.0/{ACCOUNT}/" or request["path"] == f"/v26.0/{ACCOUNT}"
    assert "access_token" not in request["query_keys"] and "appsecret_proof" in request["query_keys"]


def test_wrong_app_secret_is_refused_by_appsecret_proof(emulator):
    wrong = MetaCustomAudienceDestination(ACCOUNT, TOKEN, "not-the-secret", graph_url=emulator.url)
    ok, message = wrong.test_connection()
    assert not ok and "appsecret_proof" in message and emulator.requests[-1]["error_code"] == 100
    assert TOKEN not in message


def test_ensure_audience_finds_by_name_across_pages_or_creates(emulator, destination):
    for i in range(205):
        emulator.state.create_audience(
            ACCOUNT, {"name": f"other {i}", "customer_file_source": "USER_PROVIDED_ONLY"}
        )
    created = destination.ensure_audience("churned", description="people who left")
    assert destination.ensure_audience("churned") == created
    assert emulator.audience_ids()["churned"] == created
    assert sum(1 for r in emulator.requests if r["method"] == "POST" and r["edge"] == "customaudiences") == 1
    assert emulator.state.audience(created).customer_file_source == "USER_PROVIDED_ONLY"


def test_members_with_several_emails_become_rows_sharing_extern_id(emulator, destination):
    member = Member(
        "c1",
        {"email": (sha("a@x.com"), sha("b@x.com")), "phone": (sha("15551234567"),), "country": (sha("us"),)},
    )
    payload, unhashed = build_payload([member])
    assert unhashed == 0 and rows_for(member) == 2
    assert payload["schema"] == ["EXTERN_ID", "EMAIL", "PHONE", "COUNTRY"]
    assert [row[0] for row in payload["data"]] == ["c1", "c1"]
    audience = destination.ensure_audience("multi")
    session = destination.open_session(audience, "add", total_members=1)
    result = destination.send_batch(audience, session, [member], seq=1, last=True)
    assert result.received == 2 and result.invalid == 0
    person = emulator.audience_members(audience)["x:c1"]
    assert person["EMAIL"] == {sha("a@x.com"), sha("b@x.com")} and person["COUNTRY"] == {sha("us")}
    stats = destination.describe(audience)
    assert stats["approximate_count_lower_bound"] == 1 and stats["operation_status"]["code"] == 200


def test_unhashed_values_never_leave_the_process(emulator, destination):
    audience = destination.ensure_audience("raw")
    raw = Member("c1", {"email": (raw_email(1),)})
    session = destination.open_session(audience, "add", total_members=1)
    with pytest.raises(DataError) as info:
        destination.send_batch(audience, session, [raw], seq=1, last=True)
    assert raw_email(1) not in str(info.value)
    assert emulator.edit_requests(ok_only=False) == []


def test_throttle_maps_to_platform_error_with_the_header_hint(emulator, destination):
    audience = destination.ensure_audience("throttled")
    emulator.inject("throttle", code=17, minutes=3)
    session = destination.open_session(audience, "add", total_members=1)
    with pytest.raises(PlatformError) as info:
        destination.send_batch(audience, session, make_members([1]), seq=1, last=True)
    assert info.value.retry_after == 180.0 and "code=17" in str(info.value)


def test_flagged_audience_is_a_configuration_error_naming_the_flag(emulator, destination):
    audience = destination.ensure_audience("flagged")
    emulator.flag_audience(audience)
    session = destination.open_session(audience, "add", total_members=1)
    with pytest.raises(ConfigurationError) as info:
        destination.send_batch(audience, session, make_members([1]), seq=1, last=True)
    assert "sensitive categories" in str(info.value) and "1713230" in str(info.value)


def test_permission_error_is_a_configuration_error(emulator, destination):
    emulator.inject("permission", on="any")
    with pytest.raises(ConfigurationError, match="permission denied"):
        destination.ping()


def test_session_handle_is_json_serializable_for_the_ledger(destination):
    session = destination.open_session("1", "remove", total_members=10)
    assert isinstance(session, SessionState)
    assert json.loads(json.dumps(session.handle))["estimated_num_total"] == 10
    assert 0 < session.handle["session_id"] < 2**63


def test_api_version_is_a_setting(emulator):
    old = MetaCustomAudienceDestination(ACCOUNT, TOKEN, SECRET, api_version="v19.0", graph_url=emulator.url)
    ok, _message = old.test_connection()
    assert not ok and emulator.requests[-1]["error_code"] == 2635
    assert emulator.requests[-1]["path"].startswith("/v19.0/")


def test_several_audiences_with_one_name_use_the_one_last_synced_or_are_refused(emulator, destination):
    """Meta allows duplicate names (a copy made in Ads Manager, two first syncs racing): the ledger's audience is
    the one to use; without it, picking one would mirror the ledger into an audience that never had its members."""
    first, second = (
        emulator.state.create_audience(
            ACCOUNT, {"name": "carts", "customer_file_source": "USER_PROVIDED_ONLY"}
        ).id
        for _ in range(2)
    )
    assert destination.ensure_audience("carts", known_id=second) == second
    assert destination.ensure_audience("carts", known_id=first) == first
    for known_id in (None, "23850000000099999"):  # a first sync, or the synced one was deleted
        with pytest.raises(ConfigurationError) as refused:
            destination.ensure_audience("carts", known_id=known_id)
        assert f"ids {first}, {second}" in str(refused.value) and "delete or rename" in str(refused.value)
    assert sum(1 for r in emulator.requests if r["method"] == "POST" and r["edge"] == "customaudiences") == 0
