"""The Graph emulator enforces what the real endpoint enforces, answered in Graph's error shape."""

from __future__ import annotations

import json

import pytest
import requests
from meta_sync_support import ACCOUNT, TOKEN, raw_email, sha

from cio_devkit.emulators.meta import MetaGraphEmulator


def api_for(emulator: MetaGraphEmulator, token: str = TOKEN):
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    session = FacebookSession(app_secret="test-app-secret", access_token=token)
    session.GRAPH = emulator.url
    return FacebookAdsApi(session, api_version="v26.0")


def upload(
    api,
    audience: str,
    rows: list[list[str]],
    *,
    schema=("EXTERN_ID", "EMAIL"),
    seq=1,
    last=True,
    sid=7,
    edge="users",
):
    from facebook_business.exceptions import FacebookRequestError

    params = {
        "payload": {"schema": list(schema), "data": rows},
        "session": {"session_id": sid, "batch_seq": seq, "last_batch_flag": last, "estimated_num_total": 10},
    }
    try:
        return api.call("POST", (audience, edge), params=params).json()
    except FacebookRequestError as exc:
        return exc


@pytest.fixture
def audience(emulator):
    return emulator.state.create_audience(
        ACCOUNT, {"name": "a", "customer_file_source": "USER_PROVIDED_ONLY"}
    ).id


def test_invalid_token_gets_error_190_in_graph_shape(emulator):
    response = requests.get(f"{emulator.url}/v26.0/{ACCOUNT}", params={"access_token": "nope"}, timeout=5)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 190 and error["type"] == "OAuthException" and "fbtrace_id" in error


def test_unhashed_values_are_rejected_and_not_echoed(emulator, audience):
    result = upload(api_for(emulator), audience, [["c1", raw_email(1)]])
    assert result.api_error_code() == 100
    assert "SHA-256" in result.body()["error"]["error_user_msg"] and raw_email(1) not in json.dumps(
        result.body()
    )
    assert emulator.audience_members(audience) == {}
    assert raw_email(1) not in repr(emulator.requests)


def test_row_limit_and_row_shape_are_enforced(emulator, audience):
    api = api_for(emulator)
    too_many = upload(api, audience, [[f"c{i}", sha(str(i))] for i in range(10_001)])
    assert too_many.api_error_code() == 100 and "10000" in too_many.body()["error"]["error_user_msg"]
    ragged = upload(api, audience, [["c1"]], sid=8)
    assert ragged.api_error_code() == 100
    unknown = upload(api, audience, [["c1", sha("x")]], schema=("EXTERN_ID", "SSN"), sid=9)
    assert unknown.api_error_code() == 100


def test_empty_values_are_allowed_and_empty_rows_count_as_invalid(emulator, audience):
    result = upload(api_for(emulator), audience, [["c1", ""], ["", ""], ["", sha("b@x.com")]])
    assert result["num_received"] == 3 and result["num_invalid_entries"] == 1
    assert len(emulator.audience_members(audience)) == 2


def test_session_order_is_enforced(emulator, audience):
    api = api_for(emulator)
    assert (
        upload(api, audience, [["c1", sha("1")]], seq=2, last=False).api_error_code() == 100
    )  # must start at 1
    assert upload(api, audience, [["c1", sha("1")]], seq=1, last=False)["num_received"] == 1
    assert (
        upload(api, audience, [["c2", sha("2")]], seq=1, last=False).api_error_code() == 100
    )  # repeated seq
    assert upload(api, audience, [["c2", sha("2")]], seq=2, last=True)["num_received"] == 1
    assert upload(api, audience, [["c3", sha("3")]], seq=3, last=True).api_error_code() == 100  # after last


def test_usersreplace_swaps_membership_when_the_session_ends(emulator, audience):
    api = api_for(emulator)
    upload(api, audience, [["old", sha("old")]], sid=1)
    upload(api, audience, [["new1", sha("n1")]], sid=2, edge="usersreplace", last=False)
    assert set(emulator.audience_members(audience)) == {"x:old"}  # unchanged while the replace is open
    blocked = upload(api, audience, [["x", sha("x")]], sid=3)
    assert blocked.api_error_code() == 100  # adds are blocked during a replace
    upload(api, audience, [["new2", sha("n2")]], sid=2, seq=2, edge="usersreplace", last=True)
    assert set(emulator.audience_members(audience)) == {"x:new1", "x:new2"}


def test_removal_without_extern_id_matches_by_hash(emulator, audience):
    from facebook_business.api import FacebookAdsApi

    api: FacebookAdsApi = api_for(emulator)
    upload(api, audience, [["c1", sha("a")], ["c2", sha("b")]])
    body = {
        "payload": (None, json.dumps({"schema": ["EMAIL"], "data": [[sha("a")]]})),
        "session": (None, json.dumps({"session_id": 99, "batch_seq": 1, "last_batch_flag": True})),
    }
    api.call("DELETE", (audience, "users"), files=body)
    assert set(emulator.audience_members(audience)) == {"x:c2"}


def test_admin_api_arms_faults_over_http(emulator, audience):
    response = requests.post(
        f"{emulator.url}/_admin/faults", json={"kind": "transient", "status": 503}, timeout=5
    )
    assert response.status_code == 200
    failed = upload(api_for(emulator), audience, [["c1", sha("1")]])
    assert failed.http_status() == 503 and failed.api_transient_error() is True
    requests.post(
        f"{emulator.url}/_admin/faults", json={"kind": "flag_audience", "audience_id": audience}, timeout=5
    )
    flagged = upload(api_for(emulator), audience, [["c1", sha("1")]], sid=8)
    assert (flagged.api_error_code(), flagged.api_error_subcode()) == (100, 1713230)
    logged = requests.get(f"{emulator.url}/_admin/requests", timeout=5).json()
    assert len(logged) == 2 and TOKEN not in json.dumps(logged)


def test_throttle_fault_carries_the_business_use_case_header(emulator, audience):
    emulator.inject("throttle", minutes=4)
    throttled = upload(api_for(emulator), audience, [["c1", sha("1")]])
    usage = json.loads(throttled.http_headers()["X-Business-Use-Case-Usage"])
    assert throttled.api_error_code() == 80003
    assert next(iter(usage.values()))[0]["estimated_time_to_regain_access"] == 4


def test_admin_api_sets_delays_and_interrupts_a_replace_over_http(emulator, audience):
    """Other processes (the devstack, chaos workers) change the emulator's timing and readings over HTTP."""
    changed = requests.post(
        f"{emulator.url}/_admin/settings", json={"add_delay": 3600, "removal_match": "any_key"}, timeout=5
    )
    assert changed.status_code == 200 and changed.json()["add_delay"] == 3600
    assert requests.get(f"{emulator.url}/_admin/settings", timeout=5).json()["removal_match"] == "any_key"
    upload(api_for(emulator), audience, [["c1", sha("1")]])
    listed = {a["id"]: a for a in requests.get(f"{emulator.url}/_admin/audiences", timeout=5).json()}
    assert (listed[audience]["size"], listed[audience]["pending"]) == (0, 1)  # accepted, not applied
    bad = requests.post(f"{emulator.url}/_admin/settings", json={"removal_match": "whole_row"}, timeout=5)
    assert bad.status_code == 400 and emulator.settings.removal_match == "any_key"
    upload(api_for(emulator), audience, [["n1", sha("n1")]], sid=30, edge="usersreplace", last=False)
    requests.post(
        f"{emulator.url}/_admin/faults",
        json={"kind": "interrupt_replace", "audience_id": audience},
        timeout=5,
    )
    ended = upload(api_for(emulator), audience, [["n2", sha("n2")]], sid=30, seq=2, edge="usersreplace")
    assert ended.api_error_code() == 2650


def test_the_cli_flags_pick_the_emulator_timing_and_readings():
    import argparse

    from cio_devkit.emulators.meta.__main__ import add_settings_arguments, settings_from

    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    chosen = settings_from(
        parser.parse_args(
            ["--remove-delay", "86400", "--removal-match", "any_key", "--replace-session-ttl", "5400"]
        )
    )
    assert (chosen.remove_delay, chosen.removal_match, chosen.replace_session_ttl) == (
        86400.0,
        "any_key",
        5400.0,
    )
    assert settings_from(parser.parse_args([])) == type(chosen)()
    with pytest.raises(SystemExit):
        parser.parse_args(["--expired-replace-leaves", "whatever"])
