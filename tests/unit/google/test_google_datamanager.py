"""DataManagerDestination against the emulator through the real IngestionServiceClient over TLS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
import pytest
from google_support import CUSTOMER, email_key, emails_in, member

from airflow_provider_cio.destinations.google.datamanager import (
    DataManagerDestination,
    build_ingestion_client,
)
from airflow_provider_cio.emulators.google.server import GoogleEmulator
from airflow_provider_cio.sync.destination import BatchResult, Member, Operation
from airflow_provider_cio.sync.errors import ConfigurationError, DataError, PlatformError


def destination(emulator: GoogleEmulator, list_id: int, **kwargs: Any) -> DataManagerDestination:
    assert emulator.cert_path is not None
    channel = grpc.secure_channel(
        emulator.target, grpc.ssl_channel_credentials(root_certificates=emulator.cert_path.read_bytes())
    )
    sleeps: list[float] = []
    kwargs.setdefault("sleep", sleeps.append)
    kwargs.setdefault("user_list_ids", {"vip": str(list_id)})
    return DataManagerDestination(
        build_ingestion_client(channel=channel),
        operating_account_id=CUSTOMER,
        **kwargs,
    )


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


def test_add_then_remove_lands_in_the_list_and_reports_counts(emulator: GoogleEmulator) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    results, stats = sync(
        dest, "vip", "add", [member(i, phone=True, address=True) for i in range(25)], size=10
    )
    assert [r.received for r in results] == [10, 10, 5]
    assert stats["statuses"] == {"SUCCESS": 3}
    assert stats["record_count"] == 25 and stats["user_identifier_count"] == 75
    assert stats["upload_match_rate_ranges"] == {"MATCH_RATE_RANGE_61_TO_70": 3}
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(25)}

    sync(dest, "vip", "remove", [member(i) for i in range(20)], size=10)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(20, 25)}


def test_invalid_hash_is_refused_locally_by_index_and_the_rest_lands(emulator: GoogleEmulator) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    batch = [member(0), Member("bad", {"phone": ("+16505550000",)}), member(2), Member("none", {})]
    results, _ = sync(dest, "vip", "add", batch, size=10)
    assert results[0].failed_indexes == (1, 3)
    assert dict(results[0].failure_reasons) == {"INVALID_SHA256_FORMAT": 1, "NO_IDENTIFIERS": 1}
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(0), email_key(2)}


def test_denied_consent_is_sent_as_denied_and_never_joins(emulator: GoogleEmulator) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    results, stats = sync(dest, "vip", "add", [member(0), member(1, consent=False)], size=10)
    assert dict(results[0].failure_reasons) == {"CONSENT_NOT_GRANTED": 1}
    assert stats["statuses"] == {"PARTIAL_SUCCESS": 1}
    assert stats["error_counts"] == {"PROCESSING_ERROR_REASON_DENIED_CONSENT": 1}
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(0)}


def test_replace_clear_first_waits_for_the_clear_before_any_add(emulator: GoogleEmulator) -> None:
    emulator.settings.processing_polls = 2
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    _, stats = sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=4)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}
    log = [(r.method, r.summary.get("kind"), r.summary.get("status")) for r in emulator.requests]
    clear_done = log.index(("RetrieveRequestStatus", "remove_all", "SUCCESS"))
    clear_sent = max(i for i, (m, _, _) in enumerate(log) if m == "RemoveAllAudienceMembers")
    adds = [i for i, (m, _, _) in enumerate(log) if m == "IngestAudienceMembers"]
    assert clear_sent < clear_done < min(i for i in adds if i > clear_sent)
    assert stats["statuses"] == {"SUCCESS": 3}


def test_replace_add_then_sweep_never_empties_the_list_and_survives_a_crash(emulator: GoogleEmulator) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id, replace_mode="add_then_sweep", sweep_margin_seconds=0)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    # Crash: the adds of a replace went out, the sweep never ran.
    audience_id = dest.ensure_audience("vip")
    session = dest.open_session(audience_id, "replace", total_members=10)
    dest.send_batch(audience_id, session, [member(i) for i in range(5, 15)], seq=1, last=True)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(15)}
    # Re-run of the whole replace completes it.
    sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=4)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}
    assert 0 not in emulator.size_history(CUSTOMER, list_id)


def test_replace_clear_first_crash_after_clear_then_rerun_completes(emulator: GoogleEmulator) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    sync(dest, "vip", "add", [member(i) for i in range(10)], size=10)
    dest.open_session(dest.ensure_audience("vip"), "replace", total_members=10)  # clear done, then crash
    assert emulator.members(CUSTOMER, list_id) == set()  # clear_first leaves it empty until the re-run
    sync(dest, "vip", "replace", [member(i) for i in range(5, 15)], size=4)
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(5, 15)}


def test_throttling_becomes_platform_error_with_the_servers_retry_delay(emulator: GoogleEmulator) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    emulator.inject("resource_exhausted", method="IngestAudienceMembers", retry_delay_seconds=42)
    with pytest.raises(PlatformError) as err:
        sync(dest, "vip", "add", [member(0)], size=10)
    assert err.value.retry_after == 42


def test_terms_not_signed_and_permission_denied_are_configuration_errors(emulator: GoogleEmulator) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    emulator.inject("terms_not_accepted", method="IngestAudienceMembers")
    with pytest.raises(ConfigurationError, match="terms"):
        sync(dest, "vip", "add", [member(0)], size=10)
    emulator.inject("permission_denied", method="IngestAudienceMembers")
    with pytest.raises(ConfigurationError, match="PERMISSION_DENIED"):
        sync(dest, "vip", "add", [member(0)], size=10)


def test_unknown_list_id_is_configuration_and_missing_id_names_the_fix(emulator: GoogleEmulator) -> None:
    dest = destination(emulator, 999999)
    with pytest.raises(ConfigurationError, match="INVALID_USER_LIST_ID"):
        sync(dest, "vip", "add", [member(0)], size=10)
    with pytest.raises(ConfigurationError, match="cannot create") as info:
        dest.ensure_audience("cio/prod/acme/not-configured")
    assert '"cio/prod/acme/not-configured": "<list id>"' in str(info.value)


def test_lists_are_keyed_by_platform_name_and_one_list_for_two_names_is_refused(
    emulator: GoogleEmulator,
) -> None:
    acme = emulator.create_user_list(CUSTOMER, "cio/prod/acme/vip")
    dest = destination(
        emulator, acme, user_list_ids={"cio/prod/acme/vip": str(acme), "cio/prod/eu/vip": "77"}
    )
    assert dest.ensure_audience("cio/prod/acme/vip") == str(acme)
    shared = destination(emulator, acme, user_list_ids={"cio/prod/acme/vip": str(acme), "vip": str(acme)})
    with pytest.raises(ConfigurationError, match=f"user list {acme} is mapped from 'vip' and from") as info:
        shared.ensure_audience("vip")
    assert "cio/prod/acme/vip" in str(info.value) and "give each its own list" in str(info.value)


def test_server_side_format_rejection_is_data_error(emulator: GoogleEmulator) -> None:
    """Bypass our local check (a raw request) to prove the emulator validates as the API does."""
    from google.ads import datamanager_v1 as dm

    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    bad = dm.AudienceMember(
        user_data=dm.UserData(user_identifiers=[dm.UserIdentifier(email_address="nothex")])
    )
    from airflow_provider_cio.destinations.google.errors import classify_data_manager

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
    assert isinstance(classified, DataError) and "INVALID_SHA256_FORMAT" in str(classified)


def test_ping_and_empty_replace_guard(emulator: GoogleEmulator) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, list_id)
    assert dest.ping() is True
    from airflow_provider_cio.sync.errors import GuardrailBlocked

    with pytest.raises(GuardrailBlocked):
        dest.open_session(str(list_id), "replace", total_members=0)
    assert emulator.calls("RemoveAllAudienceMembers") == []


def test_a_list_mapping_moved_to_another_list_is_filled_in_full(emulator: GoogleEmulator) -> None:
    """Repointing ``user_list_ids`` at a new list: the sync core must not send the old list's deltas to it."""
    from airflow_provider_cio.storage import MemoryObjectStore
    from airflow_provider_cio.sync import Guardrails, run_sync

    old, new = emulator.create_user_list(CUSTOMER, "vip"), emulator.create_user_list(CUSTOMER, "vip 2026")
    store = MemoryObjectStore()
    guards = Guardrails(min_size=10)
    first = run_sync(
        destination(emulator, old),
        store,
        audience_name="vip",
        members=[member(i) for i in range(40)],
        guards=guards,
        quality_passed=True,
    )
    after = run_sync(
        destination(emulator, new),
        store,
        audience_name="vip",
        members=[member(i) for i in range(5, 45)],
        guards=guards,
        quality_passed=True,
    )

    assert first.audience_id == str(old) and after.audience_id == str(new)
    assert after.replaced_audience_id == str(old) and after.plan["adds"] == 40
    assert emails_in(emulator.members(CUSTOMER, new)) == {email_key(i) for i in range(5, 45)}
    assert emails_in(emulator.members(CUSTOMER, old)) == {email_key(i) for i in range(40)}  # left as it was
