"""DataManagerDestination against the emulator through the real IngestionServiceClient over TLS.

The emulator processes requests asynchronously on a fake clock (``dm_support.Clock``); the destination's sleeps
move that clock, so Google's hours pass without waiting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from dm_support import Clock, destination, open_and_send, sync
from google_support import CUSTOMER, email_key, emails_in, member, sha

from airflow_provider_cio.sync.destination import Member
from airflow_provider_cio.sync.errors import ConfigurationError, DataError, GuardrailBlocked, PlatformError
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings

PROCESSING = 600.0  # seconds Google takes per request in these tests


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(
        tls=True, settings=EmulatorSettings(dm_processing_seconds=PROCESSING), clock_ns=clock
    )
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def ingests(emulator: GoogleEmulator) -> list[Any]:
    return emulator.calls("IngestAudienceMembers")


def test_members_land_only_once_processed_and_counts_are_reported(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    audience_id, session, results = open_and_send(
        dest, "vip", "add", [member(i, phone=True, address=True) for i in range(25)], size=10
    )
    assert [r.received for r in results] == [10, 10, 5]
    assert emulator.members(CUSTOMER, list_id) == set()  # accepted, not yet applied
    stats = dest.close_session(audience_id, session)
    assert stats["statuses"] == {"SUCCESS": 3} and "failed_seqs" not in stats
    assert stats["record_count"] == 25 and stats["user_identifier_count"] == 75
    assert stats["upload_match_rate_ranges"] == {"MATCH_RATE_RANGE_61_TO_70": 3}
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(25)}

    sync(dest, "vip", "remove", [member(i) for i in range(20)], size=10)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(20, 25)}


def test_status_is_polled_with_capped_exponential_backoff_within_the_budget(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    emulator.settings.dm_processing_seconds = 4 * 3600
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(
        emulator,
        clock,
        list_id,
        poll_interval_seconds=60,
        poll_max_interval_seconds=1800,
        poll_budget_seconds=6 * 3600,
    )
    _, stats = sync(dest, "vip", "add", [member(0)], size=10)
    assert stats["statuses"] == {"SUCCESS": 1}
    assert clock.sleeps[:6] == [60, 120, 240, 480, 960, 1800]
    assert set(clock.sleeps[5:]) == {1800}  # capped
    assert (
        sum(clock.sleeps[:-1]) < 4 * 3600 <= sum(clock.sleeps)
    )  # stopped at the first poll after processing


def test_invalid_hash_is_left_out_by_index_and_the_rest_lands(emulator: GoogleEmulator, clock: Clock) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    batch = [member(0), Member("bad", {"phone": ("+16505550000",)}), member(2), Member("none", {})]
    results, stats = sync(dest, "vip", "add", batch, size=10)
    assert results[0].failed_indexes == (1, 3)
    assert dict(results[0].failure_reasons) == {"INVALID_SHA256_FORMAT": 1, "NO_IDENTIFIERS": 1}
    assert ingests(emulator)[0].summary["members"] == 2
    assert "failed_seqs" not in stats
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(0), email_key(2)}


# -- defect 7: consent --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("denied", ["fail_request", "skip_member"])
@pytest.mark.parametrize("missing", ["not_processed", "processed"])
@pytest.mark.parametrize("terms_required", [True, False])
def test_members_without_consent_are_left_out_and_counted_under_every_reading(
    emulator: GoogleEmulator, clock: Clock, denied: str, missing: str, terms_required: bool
) -> None:
    """Google's docs leave open what a denied or missing consent does to a request and whether terms of service are
    required; whichever reading is true, nobody without consent is sent and the others land."""
    emulator.settings.dm_denied_consent = denied
    emulator.settings.dm_missing_consent = missing
    emulator.settings.dm_require_terms_of_service = terms_required
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    batch = [member(0), member(1, consent=False), member(2), member(3, consent=False)]
    results, stats = sync(dest, "vip", "add", batch, size=10)
    assert results[0].failed_indexes == (1, 3)
    assert dict(results[0].failure_reasons) == {"CONSENT_NOT_GRANTED": 2}
    assert results[0].received == 2
    sent = ingests(emulator)[0].summary
    assert sent["members"] == 2 and sent["consent_denied"] == 0
    # and in case an earlier run added them: a removal of the two in the same batch
    assert [r.summary["members"] for r in emulator.calls("RemoveAudienceMembers")] == [2]
    assert (
        stats["statuses"] == {"SUCCESS": 2} and stats["consent_removals"] == 2 and "failed_seqs" not in stats
    )
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(0), email_key(2)}


def test_removals_are_sent_whatever_the_consent(emulator: GoogleEmulator, clock: Clock) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    sync(dest, "vip", "add", [member(0), member(1)], size=10)
    results, _ = sync(dest, "vip", "remove", [member(0, consent=False)], size=10)
    assert results[0].failed_indexes == ()
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(1)}


# -- defect 2: failures after acceptance --------------------------------------------------------------------------
def test_a_request_failing_after_acceptance_is_reported_by_seq_not_synced(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    audience_id = dest.ensure_audience("vip")
    session = dest.open_session(audience_id, "add", total_members=30)
    dest.send_batch(audience_id, session, [member(i) for i in range(10)], seq=1, last=False)
    emulator.inject("request_failed", method="IngestAudienceMembers")
    accepted = dest.send_batch(audience_id, session, [member(i) for i in range(10, 20)], seq=2, last=False)
    assert accepted.received == 10 and accepted.request_id  # accepted: the failure comes later
    emulator.inject("partial_failure", method="IngestAudienceMembers", indexes=(3,))
    dest.send_batch(audience_id, session, [member(i) for i in range(20, 30)], seq=3, last=True)

    stats = dest.close_session(audience_id, session)

    assert stats["failed_seqs"] == [2, 3]
    assert stats["failed_reasons"] == {
        "PROCESSING_ERROR_REASON_INTERNAL_ERROR": 10,
        "PROCESSING_ERROR_REASON_INVALID_FORMAT": 1,
    }
    assert stats["statuses"] == {"SUCCESS": 1, "FAILED": 1, "PARTIAL_SUCCESS": 1}
    landed = emails_in(emulator.members(CUSTOMER, list_id))
    assert landed == {email_key(i) for i in range(30) if not 10 <= i < 20 and i != 23}


def test_a_request_google_no_longer_knows_counts_as_not_applied(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    audience_id, session, _ = open_and_send(dest, "vip", "add", [member(0)], size=10)
    session.handle["requests"]["2"] = ["forgotten-request"]
    session.handle["sizes"]["forgotten-request"] = 7
    stats = dest.close_session(audience_id, session)
    assert stats["failed_seqs"] == [2]
    assert stats["failed_reasons"] == {"REQUEST_STATUS_NOT_FOUND": 7}


# -- defect 1: replace never empties the list ---------------------------------------------------------------------
def test_replace_uploads_first_then_sweeps_as_of_the_session_start(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id, sweep_margin_seconds=300)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    clock.sleep(3600)  # the next day's run, an hour later

    _, stats = sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=4)

    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}
    assert 0 not in emulator.size_history(CUSTOMER, list_id)  # never empty, not even for a moment
    log = [(r.method, r.summary.get("kind"), r.summary.get("status")) for r in emulator.requests]
    sweep_sent = log.index(("RemoveAllAudienceMembers", None, None))
    last_upload_done = max(
        i for i, entry in enumerate(log) if entry == ("RetrieveRequestStatus", "ingest", "SUCCESS")
    )
    assert last_upload_done < sweep_sent
    assert [r.summary["as_of_given"] for r in emulator.calls("RemoveAllAudienceMembers")] == [True]
    assert stats["sweep_status"] == "SUCCESS" and stats["statuses"] == {"SUCCESS": 3}


def test_replace_with_a_failed_upload_sweeps_nobody_and_reports_the_seq(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    clock.sleep(3600)
    emulator.inject("request_failed", method="IngestAudienceMembers")
    _, stats = sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=5)
    assert stats["failed_seqs"] == [1] and stats["sweep_status"] == "SKIPPED"
    assert emulator.calls("RemoveAllAudienceMembers") == []
    # nobody wiped: the old members (5..9 among them) stay, the second batch (10..14) landed
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(15)}


def test_processing_slower_than_the_budget_fails_loudly_and_the_retry_only_polls(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    """Chaos: an upload and then the sweep each take longer than the poll budget; the retried close polls the same
    requests, sends no upload twice and exactly one remove-all, and the list ends as the snapshot."""
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id, poll_interval_seconds=60, poll_budget_seconds=1800)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    clock.sleep(3600)
    emulator.inject("slow_processing", method="IngestAudienceMembers", delay_seconds=5000)
    emulator.inject("slow_processing", method="RemoveAllAudienceMembers", delay_seconds=5000)
    audience_id, session, _ = open_and_send(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=5)

    outcomes: list[str] = []
    for _ in range(10):  # the sync core's retries of close_session
        try:
            stats = dest.close_session(audience_id, session)
            break
        except PlatformError as exc:
            assert exc.retry_after is not None and exc.retry_after > 0
            outcomes.append("still processing")
            assert 0 not in emulator.size_history(CUSTOMER, list_id)
            clock.sleep(exc.retry_after)  # as the sync core's retry does
    else:
        pytest.fail("close_session never finished")

    assert len(outcomes) >= 2  # the upload outlived one budget, the sweep another
    assert len(ingests(emulator)) == 1 + 2
    assert len(emulator.calls("RemoveAllAudienceMembers")) == 1
    assert stats["sweep_status"] == "SUCCESS" and "failed_seqs" not in stats
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}
    assert 0 not in emulator.size_history(CUSTOMER, list_id)


def test_a_failed_sweep_is_sent_again_with_the_same_cutoff(emulator: GoogleEmulator, clock: Clock) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    clock.sleep(3600)  # past the sweep margin: members added within it stay one more run (by design)
    emulator.inject("request_failed", method="RemoveAllAudienceMembers")
    _, stats = sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=10)
    sweeps = emulator.calls("RemoveAllAudienceMembers")
    assert len(sweeps) == 2 and stats["sweep_status"] == "SUCCESS"
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}


def test_a_crash_before_the_sweep_then_a_rerun_completes_without_emptying(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    open_and_send(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=10)  # then the worker dies
    clock.sleep(PROCESSING)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(15)}
    sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=4)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}
    assert 0 not in emulator.size_history(CUSTOMER, list_id)


def test_empty_replace_is_blocked_before_any_call(emulator: GoogleEmulator, clock: Clock) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    assert dest.ping() is True
    with pytest.raises(GuardrailBlocked):
        dest.open_session(str(list_id), "replace", total_members=0)
    assert emulator.calls("RemoveAllAudienceMembers") == []


# -- configuration ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"membership_life_span_days": 0}, "membership_life_span_days"),
        ({"membership_life_span_days": 541}, "membership_life_span_days"),
        ({"membership_life_span_days": "90"}, "membership_life_span_days"),
        ({"membership_life_span_days": 90, "refresh_after_days": 90}, "refresh_after_days"),
        ({"refresh_after_days": -1}, "refresh_after_days"),
        ({"replace_mode": "clear_first"}, "replace_mode"),
    ],
)
def test_bad_settings_are_configuration_errors_naming_the_key(
    emulator: GoogleEmulator, clock: Clock, options: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigurationError, match=key):
        destination(emulator, clock, 1, **options)


def test_refresh_defaults_to_a_third_of_the_membership_life_span(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    assert destination(emulator, clock, 1).refresh_after_days == 180
    assert destination(emulator, clock, 1, membership_life_span_days=30).refresh_after_days == 10
    custom = destination(emulator, clock, 1, membership_life_span_days=30, refresh_after_days=29)
    assert (custom.membership_life_span_days, custom.refresh_after_days) == (30, 29)


# -- errors --------------------------------------------------------------------------------------------------------
def test_throttling_becomes_platform_error_with_the_servers_retry_delay(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    emulator.inject("resource_exhausted", method="IngestAudienceMembers", retry_delay_seconds=42)
    with pytest.raises(PlatformError) as err:
        sync(dest, "vip", "add", [member(0)], size=10)
    assert err.value.retry_after == 42


def test_terms_not_signed_and_permission_denied_are_configuration_errors(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    emulator.inject("terms_not_accepted", method="IngestAudienceMembers")
    with pytest.raises(ConfigurationError, match="terms"):
        sync(dest, "vip", "add", [member(0)], size=10)
    emulator.inject("permission_denied", method="IngestAudienceMembers")
    with pytest.raises(ConfigurationError, match="PERMISSION_DENIED"):
        sync(dest, "vip", "add", [member(0)], size=10)


def test_unknown_list_id_is_configuration_and_missing_id_names_the_fix(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    dest = destination(emulator, clock, 999999)
    with pytest.raises(ConfigurationError, match="INVALID_USER_LIST_ID"):
        sync(dest, "vip", "add", [member(0)], size=10)
    with pytest.raises(ConfigurationError, match="cannot create") as info:
        dest.ensure_audience("cio/prod/acme/not-configured")
    assert '"cio/prod/acme/not-configured": "<list id>"' in str(info.value)


def test_lists_are_keyed_by_platform_name_and_one_list_for_two_names_is_refused(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    acme = emulator.create_user_list(CUSTOMER, "cio/prod/acme/vip")
    dest = destination(
        emulator, clock, acme, user_list_ids={"cio/prod/acme/vip": str(acme), "cio/prod/eu/vip": "77"}
    )
    assert dest.ensure_audience("cio/prod/acme/vip") == str(acme)
    shared = destination(
        emulator, clock, acme, user_list_ids={"cio/prod/acme/vip": str(acme), "vip": str(acme)}
    )
    with pytest.raises(ConfigurationError, match=f"user list {acme} is mapped from 'vip' and from") as info:
        shared.ensure_audience("vip")
    assert "cio/prod/acme/vip" in str(info.value) and "give each its own list" in str(info.value)


def test_server_side_format_rejection_is_data_error(emulator: GoogleEmulator, clock: Clock) -> None:
    """Bypass our local check (a raw request) to prove the emulator validates as the API does."""
    from google.ads import datamanager_v1 as dm

    from airflow_provider_cio.destinations.google.errors import classify_data_manager

    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    for value, reason in (("nothex", "INVALID_HEX_ENCODING"), ("ab" * 31, "INVALID_SHA256_FORMAT")):
        bad = dm.AudienceMember(
            user_data=dm.UserData(user_identifiers=[dm.UserIdentifier(email_address=value)])
        )
        with pytest.raises(Exception) as raw:
            dest.client.ingest_audience_members(
                request=dm.IngestAudienceMembersRequest(
                    destinations=[dest._destination(str(list_id))],
                    audience_members=[bad],
                    encoding=dm.Encoding.HEX,
                    terms_of_service=dm.TermsOfService(
                        customer_match_terms_of_service_status=dm.TermsOfServiceStatus.ACCEPTED
                    ),
                )
            )
        classified = classify_data_manager(raw.value, action="ingest")
        assert isinstance(classified, DataError) and reason in str(classified)


def test_a_list_mapping_moved_to_another_list_is_filled_in_full(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    """Repointing ``user_list_ids`` at a new list: the sync core must not send the old list's deltas to it."""
    from airflow_provider_cio.storage import MemoryObjectStore
    from airflow_provider_cio.sync import Guardrails, SyncRequest, SyncRuntime, run_sync

    old, new = emulator.create_user_list(CUSTOMER, "vip"), emulator.create_user_list(CUSTOMER, "vip 2026")
    store = MemoryObjectStore()
    guards = Guardrails(min_size=10)
    first = run_sync(
        destination(emulator, clock, old),
        store,
        SyncRequest(
            audience_name="vip",
            members=[member(i) for i in range(40)],
            guards=guards,
            quality_passed=True,
        ),
        runtime=SyncRuntime(
            sleep=clock.sleep,
        ),
    )
    after = run_sync(
        destination(emulator, clock, new),
        store,
        SyncRequest(
            audience_name="vip",
            members=[member(i) for i in range(5, 45)],
            guards=guards,
            quality_passed=True,
        ),
        runtime=SyncRuntime(
            sleep=clock.sleep,
        ),
    )

    assert first.audience_id == str(old) and after.audience_id == str(new)
    assert after.replaced_audience_id == str(old) and after.plan["adds"] == 40
    assert emails_in(emulator.members(CUSTOMER, new)) == {email_key(i) for i in range(5, 45)}
    assert emails_in(emulator.members(CUSTOMER, old)) == {email_key(i) for i in range(40)}  # left as it was


def test_a_replace_whose_members_were_all_left_out_sweeps_nobody(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    """A broken consent column (everyone False) must not turn a replace into a wipe of the live list."""
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    clock.sleep(3600)
    with pytest.raises(GuardrailBlocked, match="empty the Google audience"):
        sync(dest, "vip", "replace", [member(i, consent=False) for i in range(10)], size=10)
    assert emulator.calls("RemoveAllAudienceMembers") == []
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(10)}


def test_a_worker_clock_ahead_of_google_by_more_than_the_margin_stops_a_replace_before_any_upload(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    """Our clock an hour ahead of Google's: the sweep's cutoff would lie after this session's uploads on Google's
    clock and remove them too. Google refuses a remove-as-of time in its future, so a validate-only remove-all at
    open finds it, and the replace stops before anything is sent."""
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    calls_before = len(emulator.requests)
    dest.now = lambda: clock.now() + dt.timedelta(hours=1)
    with pytest.raises(ConfigurationError, match="clock is ahead of Google's"):
        dest.open_session(str(list_id), "replace", total_members=10)
    assert [
        r.method for r in emulator.requests[calls_before:]
    ] == []  # the probe is validate-only: not executed
    dest.now = lambda: clock.now() + dt.timedelta(seconds=60)  # within the margin: fine
    clock.sleep(3600)
    _, stats = sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=10)
    assert stats["sweep_status"] == "SUCCESS"
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}


def test_a_consent_removal_never_names_an_identifier_the_batch_uploads(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    """Two people sharing a household phone, one without consent: the removal for that one carries only their own
    email, so it cannot match and remove the other."""
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    phone = (sha("+16505550000"),)
    ana = Member("ana", {"email": (sha("ana@example.com"),), "phone": phone})
    bo = Member("bo", {"email": (sha("bo@example.com"),), "phone": phone}, consent=False)
    results, stats = sync(dest, "vip", "add", [ana, bo], size=10)
    assert results[0].failed_indexes == (1,) and stats["consent_removals"] == 1
    people = emulator.members(CUSTOMER, list_id)
    assert any("email:" + sha("ana@example.com") in person for person in people)
    assert not any("email:" + sha("bo@example.com") in person for person in people)
