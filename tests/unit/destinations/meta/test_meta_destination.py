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


# -- platform truth (issue 15): retained removals, Meta's refusals, replace sessions Meta drops, sizes ------------


def test_retained_removals_are_never_sent_because_meta_removes_people(emulator, destination):
    """A member who stays, with an email they lost, must not be named in a removal: Meta would remove the person."""
    audience = destination.ensure_audience("retained")
    stays = Member("c1", {"email": (sha("old@x.com"),)}, retained=True)
    leaves = Member("c2", {"email": (sha("gone@x.com"),)})
    add = destination.open_session(audience, "add", total_members=2)
    destination.send_batch(
        audience, add, [Member("c1", {"email": (sha("new@x.com"),)}), leaves], seq=1, last=True
    )
    remove = destination.open_session(audience, "remove", total_members=2)
    result = destination.send_batch(audience, remove, [stays, leaves], seq=1, last=True)
    assert result.received == 1
    assert [extern for extern, _ in emulator.removal_rows(audience)] == ["c2"]
    assert set(emulator.audience_members(audience)) == {"x:c1"}
    assert destination.close_session(audience, remove)["retained_not_sent"] == 1
    only_retained = destination.open_session(audience, "remove", total_members=1)
    before = len(emulator.edit_requests(ok_only=False))
    assert destination.send_batch(audience, only_retained, [stays], seq=1, last=True).received == 0
    assert len(emulator.edit_requests(ok_only=False)) == before  # nothing to send, no request


def test_flagged_audience_names_who_must_act(emulator, destination):
    audience = destination.ensure_audience("flagged-owner")
    emulator.flag_audience(audience)
    for operation in ("add", "remove", "replace"):
        session = destination.open_session(audience, operation, total_members=1)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError) as info:
            destination.send_batch(audience, session, make_members([1]), seq=1, last=True)
        assert "Ads Manager" in info.value.who_must_act and "sensitive-category" in info.value.who_must_act
        assert "1713230" in str(info.value) and raw_email(1) not in str(info.value)


def test_removal_refused_below_metas_floor_is_a_configuration_error(emulator, destination):
    emulator.configure(min_size_for_removal=100)
    audience = destination.ensure_audience("tiny")
    add = destination.open_session(audience, "add", total_members=5)
    destination.send_batch(audience, add, make_members(range(5)), seq=1, last=True)
    remove = destination.open_session(audience, "remove", total_members=1)
    with pytest.raises(ConfigurationError) as info:
        destination.send_batch(audience, remove, make_members([1]), seq=1, last=True)
    assert "below its minimum size" in str(info.value) and "replace mode" in info.value.who_must_act
    assert len(emulator.audience_members(audience)) == 5  # nothing removed, and nothing reported as removed


def test_other_2650_refusals_are_configuration_errors_not_generic_failures(emulator, destination):
    audience = destination.ensure_audience("refused")
    emulator.inject("transient", code=2650, status=400)
    session = destination.open_session(audience, "add", total_members=1)
    with pytest.raises(ConfigurationError) as info:
        destination.send_batch(audience, session, make_members([1]), seq=1, last=True)
    assert "code=2650" in str(info.value) and "Ads Manager" in info.value.who_must_act


@pytest.mark.parametrize("how", ["expired", "interrupted"])
def test_a_replace_session_meta_drops_reports_every_batch_failed(emulator, destination, how):
    """No batch of a dropped replace session replaced anything: the rest is not sent, and close_session says all of
    it failed (the sync core then keeps those members as they were and fails the run loudly)."""
    audience = destination.ensure_audience("replace-dropped")
    session = destination.open_session(audience, "replace", total_members=30)
    batches = [make_members(range(i, i + 10)) for i in (0, 10, 20)]
    assert destination.send_batch(audience, session, batches[0], seq=1, last=False).received == 10
    if how == "expired":
        emulator.configure(replace_session_ttl=0.0)
    else:
        emulator.interrupt_replace(audience)
    assert destination.send_batch(audience, session, batches[1], seq=2, last=False).received == 0
    sent = len(emulator.edit_requests(ok_only=False))
    assert destination.send_batch(audience, session, batches[2], seq=3, last=True).received == 0
    assert len(emulator.edit_requests(ok_only=False)) == sent  # nothing more joins a dead session
    stats = destination.close_session(audience, session)
    assert stats["failed_seqs"] == [1, 2, 3] and stats["failed_reasons"] == {"replace_session_ended": 3}
    assert json.loads(json.dumps(session.handle))["ended"]  # the ledger keeps it across a resume


def test_a_2650_on_the_first_replace_batch_is_not_mistaken_for_a_dropped_session(emulator, destination):
    audience = destination.ensure_audience("replace-refused")
    emulator.inject("transient", code=2650, status=400)
    session = destination.open_session(audience, "replace", total_members=1)
    with pytest.raises(ConfigurationError, match="refused to start replacing"):
        destination.send_batch(audience, session, make_members([1]), seq=1, last=True)


def test_describe_reports_sizes_as_an_approximate_range(emulator, destination):
    emulator.configure(count_floor=1000, count_digits=2, count_spread=0.1)
    audience = destination.ensure_audience("sizes")
    session = destination.open_session(audience, "add", total_members=1)
    destination.send_batch(audience, session, make_members([1]), seq=1, last=True)
    small = destination.describe(audience)
    assert small["size_is_approximate"] is True and small["size_range"] is None
    assert "not disclosed" in small["size_note"]
    emulator.configure(count_floor=0)
    big = destination.describe(audience)
    assert big["size_range"] == [1, 2] and big["approximate_count_lower_bound"] == 1
