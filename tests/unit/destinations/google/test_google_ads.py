"""GoogleAdsDestination against the emulator through the real GoogleAdsClient (TLS, self-signed, trusted)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from google_support import CUSTOMER, email_key, emails_in, member
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_cio.destinations.google.ads import GoogleAdsDestination, build_ads_client
from airflow_provider_cio.destinations.google.ads_jobs import job_status
from airflow_provider_cio.sync.destination import BatchResult, Member, Operation, SessionState
from airflow_provider_cio.sync.errors import ConfigurationError, PlatformError
from airflow_provider_cio.sync.naming import AudienceOwner
from cio_devkit.emulators.google.server import GoogleEmulator


def destination(emulator: GoogleEmulator, **kwargs: Any) -> GoogleAdsDestination:
    from google.auth.credentials import AnonymousCredentials

    client = build_ads_client(
        developer_token="test-token", credentials=AnonymousCredentials(), endpoint=emulator.target
    )
    kwargs.setdefault("sleep", lambda _s: None)
    return GoogleAdsDestination(client, customer_id=CUSTOMER, **kwargs)


def sync(
    dest: Any, audience: str, operation: Operation, members: Sequence[Member], size: int
) -> tuple[list[BatchResult], dict[str, Any]]:
    """The minimal driver loop the sync core will run: open, send chunks, close."""
    audience_id = dest.ensure_audience(audience)
    session = dest.open_session(audience_id, operation, total_members=len(members))
    chunks = [members[i : i + size] for i in range(0, len(members), size)]
    results = [
        dest.send_batch(audience_id, session, chunk, seq=n, last=n == len(chunks))
        for n, chunk in enumerate(chunks, start=1)
    ]
    return results, dest.close_session(audience_id, session)


def test_ensure_audience_creates_once_then_finds_by_name(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    first = dest.ensure_audience("vip's list", description="x")
    assert dest.ensure_audience("vip's list") == first
    assert len(emulator.calls("MutateUserLists")) == 1
    assert emulator.list_id(CUSTOMER, "vip's list") == int(first)
    assert dest.ping() is True


def test_ensure_audience_refuses_a_list_another_workspace_owns(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    theirs = AudienceOwner("prod", "acme", "vip").description()
    first = dest.ensure_audience("vip", description=theirs)
    assert dest.ensure_audience("vip", description=theirs) == first
    with pytest.raises(ConfigurationError, match="belongs to prod/acme/vip, not to dev/acme/vip"):
        dest.ensure_audience("vip", description=AudienceOwner("dev", "acme", "vip").description())
    assert len(emulator.calls("MutateUserLists")) == 1


def test_add_remove_and_describe(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    results, stats = sync(
        dest, "vip", "add", [member(i, phone=True, address=True) for i in range(25)], size=10
    )
    assert [r.received for r in results] == [10, 10, 5]
    assert stats["status"] == "SUCCESS" and stats["match_rate_range"] == "MATCH_RANGE_61_TO_70"
    list_id = int(dest.ensure_audience("vip"))
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(25)}
    sync(dest, "vip", "remove", [member(i) for i in range(20)], size=10)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(20, 25)}
    described = dest.describe(str(list_id))
    assert described["size_for_display"] == 5 and described["match_rate_percentage"] == 70
    # creates and removes never share a job
    for call in emulator.calls("AddOfflineUserDataJobOperations"):
        assert not {"create", "remove"} <= set(call.summary["kinds"])


def test_requests_are_split_by_identifier_count(emulator: GoogleEmulator) -> None:
    dest = destination(emulator, identifiers_per_request=9)
    assert dest.max_batch_size == 9 and dest.rows_for(member(0, phone=True, address=True)) == 3
    results, _ = sync(dest, "vip", "add", [member(i, phone=True, address=True) for i in range(10)], size=10)
    calls = emulator.calls("AddOfflineUserDataJobOperations")
    assert [c.summary["identifiers"] for c in calls] == [9, 9, 9, 3]
    assert results[0].received == 10


def test_partial_failure_reports_failed_rows_by_batch_index_and_the_rest_land(
    emulator: GoogleEmulator,
) -> None:
    dest = destination(emulator)
    # Row 1 never reaches the API (consent), so API operation 2 is batch row 3.
    batch = [member(0), member(1, consent=False), member(2), member(3), member(4)]
    emulator.inject("partial_failure", method="AddOfflineUserDataJobOperations", indexes=(0, 2))
    results, _ = sync(dest, "vip", "add", batch, size=10)
    assert results[0].failed_indexes == (0, 1, 3)
    assert dict(results[0].failure_reasons) == {"INVALID_SHA256_FORMAT": 2, "CONSENT_NOT_GRANTED": 1}
    assert results[0].received == 2
    list_id = int(dest.ensure_audience("vip"))
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(2), email_key(4)}


def test_replace_puts_remove_all_first_in_one_job_and_never_empties_the_list(
    emulator: GoogleEmulator,
) -> None:
    dest = destination(emulator)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    _, stats = sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=4)
    list_id = int(dest.ensure_audience("vip"))
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}
    replace_job = stats["resource_name"]
    adds = [c for c in emulator.calls("AddOfflineUserDataJobOperations") if c.summary["job"] == replace_job]
    assert adds[0].summary["kinds"] == ["remove_all"]  # the remove_all went first ...
    assert all(c.summary["kinds"] == ["create"] for c in adds[1:])  # ... then only creates
    run = next(c for c in emulator.calls("RunOfflineUserDataJob") if c.summary["job"] == replace_job)
    assert run.seq > adds[-1].seq and run.summary["operations"] == 11
    assert 0 not in emulator.size_history(CUSTOMER, list_id)


def test_crash_mid_replace_then_full_rerun_completes_without_emptying(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    list_id = int(dest.ensure_audience("vip"))
    # Crash after the remove_all and one batch of creates: the job is never run.
    session = dest.open_session(str(list_id), "replace", total_members=10)
    dest.send_batch(str(list_id), session, [member(i) for i in range(5, 9)], seq=1, last=False)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(10)}  # untouched
    sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=4)
    emulator.settle()  # even if Google ran everything pending, the abandoned job was never run
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}
    assert emulator.job_status(session.handle["job"]) == "PENDING"
    assert 0 not in emulator.size_history(CUSTOMER, list_id)


def test_resumed_session_closes_a_job_that_was_already_run(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    list_id = dest.ensure_audience("vip")
    session = dest.open_session(list_id, "add", total_members=2)
    dest.send_batch(list_id, session, [member(0), member(1)], seq=1, last=True)
    dest.client.get_service("OfflineUserDataJobService").run_offline_user_data_job(
        resource_name=session.handle["job"]
    )
    # Crash before the ledger recorded the run; the resumed session closes it anyway.
    stats = dest.close_session(list_id, session)
    assert stats["status"] == "SUCCESS"
    assert emails_in(emulator.members(CUSTOMER, int(list_id))) == {email_key(0), email_key(1)}


def test_a_failed_job_reports_every_batch_it_held_and_applies_nothing(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    emulator.inject("job_failed", reason="UNKNOWN")
    results, stats = sync(dest, "vip", "add", [member(i) for i in range(5)], size=2)
    assert [r.received for r in results] == [2, 2, 1]  # accepted at add time ...
    assert stats["status"] == "FAILED" and stats["applied"] is False
    assert stats["failed_seqs"] == [1, 2, 3]  # ... and none of it applied
    assert stats["failed_reasons"] == {"JOB_FAILED_UNKNOWN": 5}
    assert emulator.members(CUSTOMER, int(dest.ensure_audience("vip"))) == set()


def test_a_failed_replace_job_leaves_the_list_as_it_was(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    sync(dest, "vip", "add", [member(i) for i in range(4)], size=10)
    emulator.inject("job_failed", reason="UNKNOWN")
    _, stats = sync(dest, "vip", "replace", [member(i) for i in range(2, 8)], size=3)
    assert stats["failed_seqs"] == [1, 2] and stats["applied"] is False
    list_id = int(dest.ensure_audience("vip"))
    # the remove_all did not apply either
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(4)}


def test_refused_operations_are_reported_by_batch_and_the_rest_of_the_job_applies(
    emulator: GoogleEmulator,
) -> None:
    dest = destination(emulator)
    emulator.inject("partial_failure", method="AddOfflineUserDataJobOperations", indexes=(1,))
    _, stats = sync(dest, "vip", "add", [member(i) for i in range(6)], size=3)
    assert stats["status"] == "SUCCESS"
    assert stats["failed_seqs"] == [1] and stats["failed_reasons"] == {"INVALID_SHA256_FORMAT": 1}
    list_id = int(dest.ensure_audience("vip"))
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in (0, 2, 3, 4, 5)}


def test_a_retried_close_neither_reruns_nor_resends(emulator: GoogleEmulator) -> None:
    import json

    dest = destination(emulator)
    emulator.inject("job_failed", reason="UNKNOWN")
    list_id = dest.ensure_audience("vip")
    session = dest.open_session(list_id, "add", total_members=2)
    dest.send_batch(list_id, session, [member(0)], seq=1, last=False)
    dest.send_batch(list_id, session, [member(1)], seq=2, last=True)
    first = dest.close_session(list_id, session)
    # the ledger's JSON copy of the handle, handed back on a resumed attempt
    resumed = SessionState(operation="add", handle=json.loads(json.dumps(session.handle)))
    assert dest.close_session(list_id, resumed)["failed_seqs"] == first["failed_seqs"] == [1, 2]
    assert len(emulator.calls("RunOfflineUserDataJob")) == 1
    assert len(emulator.calls("AddOfflineUserDataJobOperations")) == 2


def test_a_job_nothing_reached_is_not_run(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    list_id = dest.ensure_audience("vip")
    session = dest.open_session(list_id, "add", total_members=1)
    result = dest.send_batch(list_id, session, [member(0, consent=False)], seq=1, last=True)
    assert result.failed_indexes == (0,)
    stats = dest.close_session(list_id, session)
    assert stats["status"] == "NOT_RUN" and stats["failed_seqs"] == []
    assert emulator.calls("RunOfflineUserDataJob") == []


def test_not_allowlisted_is_configuration_error_naming_the_fix(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    emulator.inject("not_allowlisted", method="CreateOfflineUserDataJob")
    with pytest.raises(ConfigurationError, match="use the Data Manager backend") as err:
        sync(dest, "vip", "add", [member(0)], size=10)
    assert err.value.error_class == "configuration"


def test_terms_not_accepted_is_configuration_error(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    emulator.inject("terms_not_accepted", method="CreateOfflineUserDataJob")
    with pytest.raises(ConfigurationError, match="customer data terms"):
        sync(dest, "vip", "add", [member(0)], size=10)


def test_resource_exhausted_carries_the_quota_retry_delay(emulator: GoogleEmulator) -> None:
    dest = destination(emulator)
    emulator.inject("resource_exhausted", method="AddOfflineUserDataJobOperations", retry_delay_seconds=17)
    with pytest.raises(PlatformError) as err:
        sync(dest, "vip", "add", [member(0)], size=10)
    assert err.value.retry_after == 17


def test_concurrent_modification_is_retryable_platform_error(emulator: GoogleEmulator) -> None:
    dest = destination(emulator, concurrent_modification_retry_after=3)
    list_id = dest.ensure_audience("vip")
    session = dest.open_session(list_id, "add", total_members=1)
    emulator.inject("concurrent_modification", method="AddOfflineUserDataJobOperations")
    with pytest.raises(PlatformError, match="CONCURRENT_MODIFICATION") as err:
        dest.send_batch(list_id, session, [member(0)], seq=1, last=True)
    assert err.value.retry_after == 3
    dest.send_batch(list_id, session, [member(0)], seq=1, last=True)  # the retry of the same batch succeeds
    assert dest.close_session(list_id, session)["status"] == "SUCCESS"


def test_job_status_is_a_json_able_poll(emulator: GoogleEmulator) -> None:
    import json

    dest = destination(emulator)
    list_id = dest.ensure_audience("vip")
    session = dest.open_session(list_id, "add", total_members=1)
    first = job_status(dest.client, session.handle["job"])
    assert first["status"] == "PENDING" and first["done"] is False
    json.dumps(first)


@settings(deadline=None, max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.lists(st.booleans(), min_size=1, max_size=4), min_size=1, max_size=4),
    st.booleans(),
)
def test_failed_seqs_name_exactly_the_batches_with_refused_or_unapplied_members(
    emulator: GoogleEmulator, refusals: list[list[bool]], job_fails: bool
) -> None:
    """Generated batches, each operation refused at add time or not, the job failing or not: ``failed_seqs`` is
    every batch of a FAILED job, else the batches with a refusal; the list holds exactly the rest."""
    dest = destination(emulator)
    name = f"vip-{emulator.core.state.next_id()}"  # one list per example
    list_id = dest.ensure_audience(name)
    session = dest.open_session(list_id, "add", total_members=sum(map(len, refusals)))
    n = 0
    expected_members: set[str] = set()
    for seq, flags in enumerate(refusals, start=1):
        batch = [member(n + i) for i in range(len(flags))]
        bad = tuple(i for i, refused in enumerate(flags) if refused)
        if bad:
            emulator.inject("partial_failure", method="AddOfflineUserDataJobOperations", indexes=bad)
        result = dest.send_batch(list_id, session, batch, seq=seq, last=seq == len(refusals))
        assert result.failed_indexes == bad
        expected_members |= {email_key(n + i) for i, refused in enumerate(flags) if not refused}
        n += len(flags)
    if job_fails:
        emulator.inject("job_failed", reason="UNKNOWN")
    stats = dest.close_session(list_id, session)
    refused_seqs = [seq for seq, flags in enumerate(refusals, start=1) if any(flags)]
    applied_seqs = [seq for seq, flags in enumerate(refusals, start=1) if not all(flags)]
    if job_fails and applied_seqs:
        assert stats["failed_seqs"] == sorted(set(refused_seqs) | set(applied_seqs))
        assert emulator.members(CUSTOMER, int(list_id)) == set()
    else:
        assert stats["failed_seqs"] == refused_seqs
        assert emails_in(emulator.members(CUSTOMER, int(list_id))) == expected_members
    assert sum(v for k, v in stats["failed_reasons"].items() if k == "INVALID_SHA256_FORMAT") == sum(
        map(sum, refusals)
    )
    emulator.clear_faults()


def test_a_slow_job_is_awaited_on_the_platform_clock_and_a_retried_close_does_not_run_it_again(
    emulator: GoogleEmulator,
) -> None:
    """Reading: the job takes 50 minutes after it is accepted (settings.job_seconds)."""
    emulator.settings.job_seconds = 3000
    dest = destination(emulator, poll_interval_seconds=600, max_polls=3, sleep=emulator.advance)
    list_id = dest.ensure_audience("vip")
    session = dest.open_session(list_id, "add", total_members=1)
    dest.send_batch(list_id, session, [member(0)], seq=1, last=True)
    with pytest.raises(PlatformError, match="still running after 3 polls") as err:
        dest.close_session(list_id, session)  # 30 minutes of polling: still RUNNING, nothing claimed
    assert err.value.retry_after == 600 and emulator.members(CUSTOMER, int(list_id)) == set()
    stats = dest.close_session(list_id, session)  # the retry polls on: done at minute 50
    assert stats["status"] == "SUCCESS" and stats["failed_seqs"] == []
    assert emails_in(emulator.members(CUSTOMER, int(list_id))) == {email_key(0)}
    assert len(emulator.calls("RunOfflineUserDataJob")) == 1
