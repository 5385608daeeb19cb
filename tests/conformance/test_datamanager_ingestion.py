"""The Google emulator's Data Manager IngestionService against Google's documented call sequences.

Driven with the official ``google-ads-datamanager`` client built the way Google's samples build it (no code of
ours in between), one test per documented rule, each citing the page it encodes. Where the docs leave a choice
open, the test runs under each of the emulator's readings (``EmulatorSettings.dm_*``). The emulator runs on a
hand-moved clock: Google's processing hours pass without waiting.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.ads import datamanager_v1 as dm
from google.ads.datamanager_v1.services.ingestion_service.transports import IngestionServiceGrpcTransport
from google.api_core import exceptions as gexc

from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings

ACCOUNT = "1234567890"
PROCESSING = 1800.0  # seconds the emulator takes to process a request in these tests


class HandClock:
    """The emulator's clock, moved by the test."""

    def __init__(self) -> None:
        self.ns = time.time_ns()

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.ns / 1e9, dt.UTC)


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
def emulator(clock: HandClock) -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(
        tls=True, settings=EmulatorSettings(dm_processing_seconds=PROCESSING), clock_ns=clock
    )
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def client(emulator: GoogleEmulator) -> Any:
    assert emulator.cert_path is not None
    creds = grpc.ssl_channel_credentials(root_certificates=emulator.cert_path.read_bytes())
    channel = grpc.secure_channel(emulator.target, creds)
    return dm.IngestionServiceClient(transport=IngestionServiceGrpcTransport(channel=channel))


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def hex_email(n: int) -> str:
    return digest(f"user{n}@example.com").hex()


def destination(list_id: int) -> Any:
    """As the sample configures it: operating account type and id, and the audience id."""
    dest: Any = dm.Destination()
    dest.operating_account.account_type = dm.ProductAccount.AccountType.GOOGLE_ADS
    dest.operating_account.account_id = ACCOUNT
    dest.product_destination_id = str(list_id)
    return dest


def person(*emails: str, consent: Any = None) -> Any:
    member = dm.AudienceMember(
        user_data=dm.UserData(user_identifiers=[dm.UserIdentifier(email_address=e) for e in emails])
    )
    if consent is not None:
        member.consent = consent
    return member


GRANTED = dm.Consent(
    ad_user_data=dm.ConsentStatus.CONSENT_GRANTED, ad_personalization=dm.ConsentStatus.CONSENT_GRANTED
)
DENIED = dm.Consent(
    ad_user_data=dm.ConsentStatus.CONSENT_DENIED, ad_personalization=dm.ConsentStatus.CONSENT_GRANTED
)


def sample_request(list_id: int, members: list[Any], **overrides: Any) -> Any:
    """The shape of Google's ``ingest_audience_members.py`` sample: request-level consent granted, terms of
    service accepted, HEX encoding, validate_only as given."""
    fields: dict[str, Any] = {
        "destinations": [destination(list_id)],
        "audience_members": members,
        "consent": GRANTED,
        "terms_of_service": dm.TermsOfService(
            customer_match_terms_of_service_status=dm.TermsOfServiceStatus.ACCEPTED
        ),
        "encoding": dm.Encoding.HEX,
        "validate_only": False,
    }
    fields.update(overrides)
    return dm.IngestAudienceMembersRequest(**fields)


def status_of(client: Any, request_id: str) -> Any:
    response = client.retrieve_request_status(request=dm.RetrieveRequestStatusRequest(request_id=request_id))
    assert len(response.request_status_per_destination) == 1
    return response.request_status_per_destination[0]


def emails(emulator: GoogleEmulator, list_id: int) -> set[str]:
    return {
        k.removeprefix("email:")
        for m in emulator.members(ACCOUNT, list_id)
        for k in m
        if k.startswith("email:")
    }


def test_sample_request_validate_only_returns_no_request_id_and_changes_nothing(
    emulator: GoogleEmulator, client: Any, clock: HandClock
) -> None:
    """ "If true, the request is validated but not executed. Only errors are returned, not results."
    (audienceMembers.ingest, https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/ingest;
    the sample defaults --validate_only to true)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    response = client.ingest_audience_members(
        request=sample_request(list_id, [person(hex_email(1))], validate_only=True)
    )
    assert response.request_id == ""
    clock.advance(PROCESSING)
    assert emails(emulator, list_id) == set()
    real = client.ingest_audience_members(request=sample_request(list_id, [person(hex_email(1))]))
    assert real.request_id
    clock.advance(PROCESSING)
    assert emails(emulator, list_id) == {hex_email(1)}


def test_a_request_is_processing_after_acceptance_and_applied_only_when_processed(
    emulator: GoogleEmulator, client: Any, clock: HandClock
) -> None:
    """ "Wait for 30 minutes, then send a RetrieveRequestStatus request ... Periodically repeat this step for each
    request_id until the destination status for each destination reaches SUCCESS, PARTIAL_SUCCESS, or FAILURE"
    (Diagnostics, https://developers.google.com/data-manager/api/devguides/diagnostics)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    request_id = client.ingest_audience_members(
        request=sample_request(list_id, [person(hex_email(1))])
    ).request_id
    entry = status_of(client, request_id)
    assert entry.request_status.name == "PROCESSING"
    assert emails(emulator, list_id) == set()
    clock.advance(PROCESSING - 1)
    assert status_of(client, request_id).request_status.name == "PROCESSING"
    clock.advance(1)
    entry = status_of(client, request_id)
    assert entry.request_status.name == "SUCCESS"
    assert entry.audience_members_ingestion_status.user_data_ingestion_status.record_count == 1
    assert emails(emulator, list_id) == {hex_email(1)}


def test_a_request_can_fail_after_it_was_accepted(
    emulator: GoogleEmulator, client: Any, clock: HandClock
) -> None:
    """ "Request succeeded, but data is missing ... Records can still fail during asynchronous processing"
    (Data Manager API troubleshooting; FAILED: "Processing failed for all records. Check the error_info field",
    RequestStatusPerDestination, https://developers.google.com/data-manager/api/reference/rpc/google.ads.datamanager.v1)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    emulator.inject("request_failed", method="IngestAudienceMembers")
    members = [person(hex_email(i)) for i in range(3)]
    request_id = client.ingest_audience_members(request=sample_request(list_id, members)).request_id
    assert request_id  # accepted
    clock.advance(PROCESSING)
    entry = status_of(client, request_id)
    assert entry.request_status.name == "FAILED"
    assert [(c.reason.name, c.record_count) for c in entry.error_info.error_counts] == [
        ("PROCESSING_ERROR_REASON_INTERNAL_ERROR", 3)
    ]
    assert emails(emulator, list_id) == set()


@pytest.mark.parametrize("encoding", ["HEX", "BASE64"])
def test_hashes_are_accepted_hex_or_base64_and_name_the_same_member(
    emulator: GoogleEmulator, client: Any, clock: HandClock, encoding: str
) -> None:
    """ "Hash the email address using the SHA-256 algorithm. Encode the hash bytes using hexadecimal (hex) or Base64
    encoding" (Send audience members,
    https://developers.google.com/data-manager/api/devguides/audiences/send-audience-members)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    raw = digest("dana@example.com")
    value = raw.hex() if encoding == "HEX" else base64.b64encode(raw).decode()
    client.ingest_audience_members(
        request=sample_request(list_id, [person(value)], encoding=getattr(dm.Encoding, encoding))
    )
    clock.advance(PROCESSING)
    assert emails(emulator, list_id) == {raw.hex()}


@pytest.mark.parametrize(
    ("encoding", "value", "reason"),
    [
        ("HEX", "zz" * 32, "INVALID_HEX_ENCODING"),
        ("HEX", "ab" * 31, "INVALID_SHA256_FORMAT"),
        ("BASE64", "not base64!", "INVALID_BASE64_ENCODING"),
        ("BASE64", base64.b64encode(b"short").decode(), "INVALID_SHA256_FORMAT"),
        ("HEX", base64.b64encode(digest("x")).decode(), "INVALID_HEX_ENCODING"),
    ],
)
def test_a_hash_not_in_the_declared_encoding_fails_the_request(
    emulator: GoogleEmulator, client: Any, encoding: str, value: str, reason: str
) -> None:
    """The request's ``encoding`` says how every hash is encoded ("The encoding type of the user identifiers",
    IngestAudienceMembersRequest.encoding; ErrorReason INVALID_HEX_ENCODING / INVALID_BASE64_ENCODING /
    INVALID_SHA256_FORMAT, https://developers.google.com/data-manager/api/reference/rest/v1/ErrorReason)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    with pytest.raises(gexc.InvalidArgument) as refused:
        client.ingest_audience_members(
            request=sample_request(list_id, [person(value)], encoding=getattr(dm.Encoding, encoding))
        )
    assert refused.value.reason == reason
    assert emulator.calls("IngestAudienceMembers") == []


def test_encoding_must_be_given_for_user_data(emulator: GoogleEmulator, client: Any) -> None:
    """ "Must be provided for UserData uploads" (IngestAudienceMembersRequest.encoding,
    https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/ingest)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    with pytest.raises(gexc.InvalidArgument) as refused:
        client.ingest_audience_members(
            request=sample_request(list_id, [person(hex_email(1))], encoding=dm.Encoding.ENCODING_UNSPECIFIED)
        )
    assert refused.value.reason == "REQUIRED_FIELD_MISSING"


def test_member_consent_overrides_the_request_consent(
    emulator: GoogleEmulator, client: Any, clock: HandClock
) -> None:
    """ "User-level consent overrides request-level consent" (IngestAudienceMembersRequest.consent,
    https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/ingest)."""
    emulator.settings.dm_denied_consent = "skip_member"
    list_id = emulator.create_user_list(ACCOUNT, "l")
    members = [person(hex_email(1), consent=GRANTED), person(hex_email(2))]
    request = sample_request(list_id, members, consent=DENIED)
    request_id = client.ingest_audience_members(request=request).request_id
    clock.advance(PROCESSING)
    entry = status_of(client, request_id)
    assert entry.request_status.name == "PARTIAL_SUCCESS"
    assert [c.reason.name for c in entry.error_info.error_counts] == [
        "PROCESSING_ERROR_REASON_DENIED_CONSENT"
    ]
    assert emails(emulator, list_id) == {hex_email(1)}


@pytest.mark.parametrize("reading", ["fail_request", "skip_member"])
def test_a_denied_consent_never_joins_and_under_one_reading_fails_the_request(
    emulator: GoogleEmulator, client: Any, clock: HandClock, reading: str
) -> None:
    """ "If either consent field is set as denied, then: Your upload request will return an error. Data from users in
    the EEA will not be processed" ("About consent for Customer Match partners",
    https://support.google.com/displayvideo/answer/14673239). Whether the error takes the whole request or only the
    member is not said for Data Manager: a setting."""
    emulator.settings.dm_denied_consent = reading
    list_id = emulator.create_user_list(ACCOUNT, "l")
    members = [person(hex_email(1)), person(hex_email(2), consent=DENIED)]
    request_id = client.ingest_audience_members(request=sample_request(list_id, members)).request_id
    clock.advance(PROCESSING)
    entry = status_of(client, request_id)
    if reading == "fail_request":
        assert entry.request_status.name == "FAILED"
        assert emails(emulator, list_id) == set()
    else:
        assert entry.request_status.name == "PARTIAL_SUCCESS"
        assert emails(emulator, list_id) == {hex_email(1)}


@pytest.mark.parametrize("reading", ["not_processed", "processed"])
def test_a_member_without_consent_fields_is_processed_only_under_the_non_eea_reading(
    emulator: GoogleEmulator, client: Any, clock: HandClock, reading: str
) -> None:
    """ "If either consent is set as unspecified, then consent is not considered granted. Data from users in the EEA
    will not be processed" (same page). Outside the EEA the docs say nothing: a setting."""
    emulator.settings.dm_missing_consent = reading
    list_id = emulator.create_user_list(ACCOUNT, "l")
    request = sample_request(list_id, [person(hex_email(1))], consent=dm.Consent())
    request_id = client.ingest_audience_members(request=request).request_id
    clock.advance(PROCESSING)
    entry = status_of(client, request_id)
    if reading == "not_processed":
        assert entry.request_status.name == "FAILED"
        assert [c.reason.name for c in entry.error_info.error_counts] == [
            "PROCESSING_ERROR_REASON_NO_CONSENT"
        ]
        assert emails(emulator, list_id) == set()
    else:
        assert entry.request_status.name == "SUCCESS"
        assert emails(emulator, list_id) == {hex_email(1)}


@pytest.mark.parametrize("required", [True, False])
def test_terms_of_service_accepted_lands_and_missing_terms_follow_the_reading(
    emulator: GoogleEmulator, client: Any, clock: HandClock, required: bool
) -> None:
    """ "Set the termsOfService to a TermsOfService message with customerMatchTermsOfServiceStatus set to ACCEPTED"
    (Upload members to an audience,
    https://developers.google.com/data-manager/api/devguides/audiences/google-ads/customer-match/upload-data); the
    field itself is "Optional" in the reference, so whether a request without it is refused is a setting. REJECTED
    is refused under both."""
    emulator.settings.dm_require_terms_of_service = required
    list_id = emulator.create_user_list(ACCOUNT, "l")
    rejected = dm.TermsOfService(customer_match_terms_of_service_status=dm.TermsOfServiceStatus.REJECTED)
    with pytest.raises(gexc.InvalidArgument) as refused:
        client.ingest_audience_members(
            request=sample_request(list_id, [person(hex_email(1))], terms_of_service=rejected)
        )
    assert refused.value.reason == "TERMS_AND_CONDITIONS_NOT_SIGNED"
    without = sample_request(list_id, [person(hex_email(2))], terms_of_service=dm.TermsOfService())
    if required:
        with pytest.raises(gexc.InvalidArgument) as missing:
            client.ingest_audience_members(request=without)
        assert missing.value.reason == "TERMS_AND_CONDITIONS_NOT_SIGNED"
    else:
        assert client.ingest_audience_members(request=without).request_id
    client.ingest_audience_members(request=sample_request(list_id, [person(hex_email(3))]))
    clock.advance(PROCESSING)
    assert emails(emulator, list_id) == ({hex_email(3)} if required else {hex_email(2), hex_email(3)})


def test_remove_all_as_of_a_time_spares_members_last_added_after_it(
    emulator: GoogleEmulator, client: Any, clock: HandClock
) -> None:
    """ "If set, only audience members last added before this time will be removed. If not set, it defaults to
    current time." (audienceMembers.removeAll,
    https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/removeAll)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    client.ingest_audience_members(request=sample_request(list_id, [person(hex_email(i)) for i in range(4)]))
    clock.advance(PROCESSING + 3600)
    cutoff = clock.now()
    clock.advance(60)
    client.ingest_audience_members(request=sample_request(list_id, [person(hex_email(i)) for i in (2, 3, 4)]))
    clock.advance(PROCESSING)  # 2, 3 re-added and 4 added after the cutoff
    request = dm.RemoveAllAudienceMembersRequest(
        destinations=[destination(list_id)], remove_as_of_time=cutoff
    )
    request_id = client.remove_all_audience_members(request=request).request_id
    assert emails(emulator, list_id) == {hex_email(i) for i in range(5)}  # accepted, not yet processed
    clock.advance(PROCESSING)
    assert status_of(client, request_id).request_status.name == "SUCCESS"
    assert emails(emulator, list_id) == {hex_email(i) for i in (2, 3, 4)}

    client.remove_all_audience_members(
        request=dm.RemoveAllAudienceMembersRequest(destinations=[destination(list_id)])
    )
    clock.advance(PROCESSING)
    assert emails(emulator, list_id) == set()  # no time: everyone added before the request


def test_remove_as_of_time_in_the_future_is_refused(
    emulator: GoogleEmulator, client: Any, clock: HandClock
) -> None:
    """ "The remove as of time must not be in the future." (audienceMembers.removeAll, as above; ErrorReason
    INVALID_REMOVE_AS_OF_TIME)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    future = clock.now() + dt.timedelta(minutes=5)
    request = dm.RemoveAllAudienceMembersRequest(
        destinations=[destination(list_id)], remove_as_of_time=future
    )
    with pytest.raises(gexc.InvalidArgument) as refused:
        client.remove_all_audience_members(request=request)
    assert refused.value.reason == "INVALID_REMOVE_AS_OF_TIME"
    assert emulator.calls("RemoveAllAudienceMembers") == []


def test_removal_is_accepted_then_applied_when_processed(
    emulator: GoogleEmulator, client: Any, clock: HandClock
) -> None:
    """audienceMembers.remove: "Removes a list of AudienceMember resources from the provided Destination"
    (https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/remove), processed
    asynchronously like an ingest (Diagnostics, as above: RemoveAudienceMembersResponse has a request_id)."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    client.ingest_audience_members(request=sample_request(list_id, [person(hex_email(i)) for i in range(3)]))
    clock.advance(PROCESSING)
    removal = dm.RemoveAudienceMembersRequest(
        destinations=[destination(list_id)], audience_members=[person(hex_email(0))], encoding=dm.Encoding.HEX
    )
    request_id = client.remove_audience_members(request=removal).request_id
    assert status_of(client, request_id).request_status.name == "PROCESSING"
    assert emails(emulator, list_id) == {hex_email(i) for i in range(3)}
    clock.advance(PROCESSING)
    entry = status_of(client, request_id)
    assert entry.request_status.name == "SUCCESS"
    assert entry.audience_members_removal_status.user_data_removal_status.record_count == 1
    assert emails(emulator, list_id) == {hex_email(1), hex_email(2)}


def test_validate_only_remove_all_checks_the_time_and_removes_nobody(
    emulator: GoogleEmulator, client: Any, clock: HandClock
) -> None:
    """validate_only: "the request is validated but not executed. Only errors are returned, not results."
    (audienceMembers.removeAll, as above): a time in the future is refused as by a real request, a past one
    returns no request id and removes nobody."""
    list_id = emulator.create_user_list(ACCOUNT, "l")
    client.ingest_audience_members(request=sample_request(list_id, [person(hex_email(1))]))
    clock.advance(PROCESSING)
    future = dm.RemoveAllAudienceMembersRequest(
        destinations=[destination(list_id)],
        remove_as_of_time=clock.now() + dt.timedelta(hours=1),
        validate_only=True,
    )
    with pytest.raises(gexc.InvalidArgument) as refused:
        client.remove_all_audience_members(request=future)
    assert refused.value.reason == "INVALID_REMOVE_AS_OF_TIME"
    past = dm.RemoveAllAudienceMembersRequest(
        destinations=[destination(list_id)],
        remove_as_of_time=clock.now() - dt.timedelta(seconds=1),
        validate_only=True,
    )
    assert client.remove_all_audience_members(request=past).request_id == ""
    clock.advance(PROCESSING)
    assert emails(emulator, list_id) == {hex_email(1)}
