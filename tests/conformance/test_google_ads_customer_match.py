"""Conformance: Google Ads API Customer Match, driven with the official ``google-ads`` client the way Google's docs
show (UserListService, OfflineUserDataJobService, GoogleAdsService), against the emulator. Never our destination.

One test per documented rule; each names its page. The call sequence is the "Customer Match" upload guide's:
create a CRM-based list, create an offline user data job for it, add operations, run the job, read its status.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from cio_devkit.emulators.google.server import GoogleEmulator

CUSTOMER = "1234567890"
DAY = 86_400


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(tls=True).start()
    emu.trust()  # before this process opens its first default TLS channel
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def client(emulator: GoogleEmulator) -> Any:
    from google.ads.googleads.client import GoogleAdsClient
    from google.auth.credentials import AnonymousCredentials

    return GoogleAdsClient(
        credentials=AnonymousCredentials(), developer_token="t", endpoint=emulator.target, use_proto_plus=True
    )


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_list(client: Any, name: str, life_span: int | None = None) -> str:
    operation = client.get_type("UserListOperation")
    user_list = operation.create
    user_list.name = name
    if life_span is not None:
        user_list.membership_life_span = life_span
    user_list.crm_based_user_list.upload_key_type = client.enums.CustomerMatchUploadKeyTypeEnum.CONTACT_INFO
    service = client.get_service("UserListService")
    response = service.mutate_user_lists(customer_id=CUSTOMER, operations=[operation])
    return str(response.results[0].resource_name)


def create_job(client: Any, user_list: str) -> str:
    job = client.get_type("OfflineUserDataJob")
    job.type_ = client.enums.OfflineUserDataJobTypeEnum.CUSTOMER_MATCH_USER_LIST
    job.customer_match_user_list_metadata.user_list = user_list
    job.customer_match_user_list_metadata.consent.ad_user_data = client.enums.ConsentStatusEnum.GRANTED
    job.customer_match_user_list_metadata.consent.ad_personalization = client.enums.ConsentStatusEnum.GRANTED
    service = client.get_service("OfflineUserDataJobService")
    return str(service.create_offline_user_data_job(customer_id=CUSTOMER, job=job).resource_name)


def operation(client: Any, kind: str, *emails: str) -> Any:
    op = client.get_type("OfflineUserDataJobOperation")
    if kind == "remove_all":
        op.remove_all = True
        return op
    user_data = getattr(op, kind)
    for email in emails:
        identifier = client.get_type("UserIdentifier")
        identifier.hashed_email = email
        user_data.user_identifiers.append(identifier)
    return op


def add(client: Any, job: str, ops: list[Any]) -> Any:
    request = client.get_type("AddOfflineUserDataJobOperationsRequest")
    request.resource_name = job
    request.enable_partial_failure = True
    request.operations.extend(ops)
    return client.get_service("OfflineUserDataJobService").add_offline_user_data_job_operations(
        request=request
    )


def run(client: Any, job: str) -> Any:
    return client.get_service("OfflineUserDataJobService").run_offline_user_data_job(resource_name=job)


def search(client: Any, query: str) -> list[Any]:
    return list(client.get_service("GoogleAdsService").search(customer_id=CUSTOMER, query=query))


def job_row(client: Any, job: str) -> Any:
    rows = search(
        client,
        "SELECT offline_user_data_job.status, offline_user_data_job.failure_reason "
        f"FROM offline_user_data_job WHERE offline_user_data_job.resource_name = '{job}'",
    )
    return rows[0].offline_user_data_job


def list_row(client: Any, user_list: str) -> Any:
    rows = search(
        client,
        "SELECT user_list.membership_life_span, user_list.size_for_display, user_list.size_for_search "
        f"FROM user_list WHERE user_list.resource_name = '{user_list}'",
    )
    return rows[0].user_list


def upload(client: Any, user_list: str, *emails: str) -> str:
    job = create_job(client, user_list)
    add(client, job, [operation(client, "create", e) for e in emails])
    run(client, job).result(timeout=30)  # the long-running operation, polled until done
    return job


def ads_error(exc: Any) -> tuple[str, str]:
    error = exc.failure.errors[0]
    family = error.error_code._pb.WhichOneof("error_code")
    return family, getattr(error.error_code, family).name


def test_a_life_span_above_540_days_is_refused_too_high(client: Any) -> None:
    """ "requests to set the UserList.membership_life_span field ... to greater than 540 will return a
    RangeError.TOO_HIGH error" ("Update to Customer Match membership expiration starting April 7, 2025",
    https://developers.google.com/ads/blog/posts/2025/02/update-to-customer-match-membership)."""
    from google.ads.googleads.errors import GoogleAdsException

    with pytest.raises(GoogleAdsException) as err:
        create_list(client, "too long", life_span=541)
    assert ads_error(err.value) == ("range_error", "TOO_HIGH")
    assert list_row(client, create_list(client, "max", life_span=540)).membership_life_span == 540


def test_an_unset_life_span_is_the_maximum(client: Any) -> None:
    """Unset membership_life_span behaves as the 540-day maximum (same blog post)."""
    assert list_row(client, create_list(client, "unset")).membership_life_span == 540


def test_a_membership_lapses_its_life_span_after_the_latest_upload(
    client: Any, emulator: GoogleEmulator
) -> None:
    """membership_life_span: "Number of days a user's cookie stays on your list since its most recent addition to
    the list" (UserList, https://developers.google.com/google-ads/api/reference/rpc/v26/UserList)."""
    user_list = create_list(client, "ten days", life_span=10)
    upload(client, user_list, sha("a"), sha("b"))
    emulator.advance(days=6)
    upload(client, user_list, sha("a"))  # a's latest addition moves to day 6
    emulator.advance(days=4)  # day 10: b's membership ends, a's runs to day 16
    assert list_row(client, user_list).size_for_display == 1
    emulator.advance(days=6)
    assert list_row(client, user_list).size_for_display == 0


def test_the_size_is_null_until_google_has_determined_it(client: Any, emulator: GoogleEmulator) -> None:
    """size_for_display / size_for_search: "This value is null if the number of users has not yet been
    determined" (UserList reference, above). The emulator's delay is a setting (how long is not documented)."""
    emulator.settings.size_delay_seconds = 3600
    user_list = create_list(client, "late")
    upload(client, user_list, sha("a"))
    assert "size_for_display" not in list_row(client, user_list)
    emulator.advance(3600)
    assert list_row(client, user_list).size_for_search == 1


def test_a_job_is_processed_asynchronously_and_read_with_gaql(client: Any, emulator: GoogleEmulator) -> None:
    """ "user list members that will be processed asynchronously ... the processing results of the job can only be
    read using GoogleAdsService.Search/SearchStream" (OfflineUserDataJob,
    https://developers.google.com/google-ads/api/reference/rpc/v26/OfflineUserDataJob)."""
    emulator.settings.job_seconds = 2 * 3600
    user_list = create_list(client, "async")
    job = create_job(client, user_list)
    add(client, job, [operation(client, "create", sha("a"))])
    assert job_row(client, job).status.name == "PENDING"
    lro = run(client, job)
    assert lro.done() is False and job_row(client, job).status.name == "RUNNING"
    assert job_row(client, job).status.name == "RUNNING"  # accepted is not applied: time has to pass
    assert list_row(client, user_list).size_for_display == 0
    emulator.advance(2 * 3600)
    assert job_row(client, job).status.name == "SUCCESS"
    assert list_row(client, user_list).size_for_display == 1


def test_a_job_can_fail_after_it_was_accepted(client: Any, emulator: GoogleEmulator) -> None:
    """A run job ends SUCCESS or FAILED, with failure_reason set "if status is FAILED" (OfflineUserDataJob,
    above); nothing of a failed job joins the list."""
    emulator.inject("job_failed", reason="UNKNOWN")
    user_list = create_list(client, "fails")
    job = create_job(client, user_list)
    add(client, job, [operation(client, "create", sha("a"))])
    run(client, job)
    emulator.settle()
    row = job_row(client, job)
    assert (row.status.name, row.failure_reason.name) == ("FAILED", "UNKNOWN")
    assert list_row(client, user_list).size_for_display == 0


def test_remove_all_must_be_the_first_operation(client: Any) -> None:
    """INVALID_OPERATION_ORDER: "When a remove-all operation is provided, it has to be the first operation of the
    operation list" (OfflineUserDataJobError,
    https://developers.google.com/google-ads/api/reference/rpc/v26/OfflineUserDataJobErrorEnum.OfflineUserDataJobError)."""
    from google.ads.googleads.errors import GoogleAdsException

    job = create_job(client, create_list(client, "order"))
    with pytest.raises(GoogleAdsException) as err:
        add(client, job, [operation(client, "create", sha("a")), operation(client, "remove_all")])
    assert ads_error(err.value) == ("offline_user_data_job_error", "INVALID_OPERATION_ORDER")
    add(client, job, [operation(client, "remove_all"), operation(client, "create", sha("a"))])


def test_remove_all_then_creates_in_one_job_replaces_the_list_when_it_runs(
    client: Any, emulator: GoogleEmulator
) -> None:
    """remove_all: "Remove all previously provided data. This is only supported for Customer Match"
    (OfflineUserDataJobOperation,
    https://developers.google.com/google-ads/api/reference/rpc/v26/OfflineUserDataJobOperation); a job is applied
    when it is processed, so the list keeps its old members until then."""
    user_list = create_list(client, "replaced")
    upload(client, user_list, sha("old1"), sha("old2"))
    emulator.settings.job_seconds = 600
    job = create_job(client, user_list)
    add(client, job, [operation(client, "remove_all"), operation(client, "create", sha("new"))])
    run(client, job)
    assert job_row(client, job).status.name == "RUNNING" and list_row(client, user_list).size_for_display == 2
    emulator.advance(600)
    assert job_row(client, job).status.name == "SUCCESS" and list_row(client, user_list).size_for_display == 1


def test_creates_and_removes_never_share_a_job(client: Any) -> None:
    """CONFLICTING_OPERATION: "Mixing creation and removal of offline data in the same job is not allowed"
    (OfflineUserDataJobError, above)."""
    from google.ads.googleads.errors import GoogleAdsException

    job = create_job(client, create_list(client, "mixed"))
    add(client, job, [operation(client, "create", sha("a"))])
    with pytest.raises(GoogleAdsException) as err:
        add(client, job, [operation(client, "remove", sha("b"))])
    assert ads_error(err.value) == ("offline_user_data_job_error", "CONFLICTING_OPERATION")


def test_no_operation_is_added_once_the_job_started(client: Any) -> None:
    """JOB_ALREADY_STARTED: "Once the upload job is started, new operations cannot be added" (same enum)."""
    from google.ads.googleads.errors import GoogleAdsException

    job = create_job(client, create_list(client, "started"))
    add(client, job, [operation(client, "create", sha("a"))])
    run(client, job)
    with pytest.raises(GoogleAdsException) as err:
        add(client, job, [operation(client, "create", sha("b"))])
    assert ads_error(err.value) == ("offline_user_data_job_error", "JOB_ALREADY_STARTED")


def test_at_most_20_identifiers_per_operation(client: Any) -> None:
    """TOO_MANY_USER_IDENTIFIERS: "Maximum number of user identifiers allowed per request is 100,000 and per
    operation is 20" (same enum); with partial failure on, only that operation fails."""
    job = create_job(client, create_list(client, "many"))
    response = add(
        client,
        job,
        [
            operation(client, "create", sha("ok")),
            operation(client, "create", *[sha(str(i)) for i in range(21)]),
        ],
    )
    failure = type(client.get_type("GoogleAdsFailure")).deserialize(
        response.partial_failure_error.details[0].value
    )
    assert [e.error_code.offline_user_data_job_error.name for e in failure.errors] == [
        "TOO_MANY_USER_IDENTIFIERS"
    ]


def test_a_partial_failure_names_the_failing_operation_by_index(client: Any) -> None:
    """Partial failures: each error's location.field_path_elements gives the index of the failed operation
    ("Partial failure", https://developers.google.com/google-ads/api/docs/best-practices/partial-failures)."""
    job = create_job(client, create_list(client, "partial"))
    ops = [operation(client, "create", e) for e in (sha("a"), "not-a-hash", sha("c"), "NOT HEX")]
    response = add(client, job, ops)
    failure = type(client.get_type("GoogleAdsFailure")).deserialize(
        response.partial_failure_error.details[0].value
    )
    assert sorted(e.location.field_path_elements[0].index for e in failure.errors) == [1, 3]
    run(client, job).result(timeout=30)
    assert list_row(client, create_job_list(client, job)).size_for_display == 2  # the other two applied


def create_job_list(client: Any, job: str) -> str:
    """The user list a job writes to, read back through GAQL (jobs carry their list)."""
    rows = search(
        client,
        "SELECT offline_user_data_job.customer_match_user_list_metadata.user_list FROM offline_user_data_job "
        f"WHERE offline_user_data_job.resource_name = '{job}'",
    )
    return str(rows[0].offline_user_data_job.customer_match_user_list_metadata.user_list)


def test_jobs_are_filtered_by_their_user_list(client: Any) -> None:
    """offline_user_data_job.customer_match_user_list_metadata.user_list is Filterable and Selectable
    (offline_user_data_job fields, https://developers.google.com/google-ads/api/fields/v26/offline_user_data_job)."""
    mine, other = create_list(client, "mine"), create_list(client, "other")
    job = create_job(client, mine)
    create_job(client, other)
    rows = search(
        client,
        "SELECT offline_user_data_job.resource_name FROM offline_user_data_job WHERE "
        f"offline_user_data_job.customer_match_user_list_metadata.user_list = '{mine}'",
    )
    assert [r.offline_user_data_job.resource_name for r in rows] == [job]


def test_an_unrecognized_field_is_a_query_error(client: Any) -> None:
    """Fields in a query must exist on the resource (GAQL grammar and query structure,
    https://developers.google.com/google-ads/api/docs/query/grammar; QueryError.UNRECOGNIZED_FIELD)."""
    from google.ads.googleads.errors import GoogleAdsException

    with pytest.raises(GoogleAdsException) as err:
        search(client, "SELECT user_list.sizeForDisplay FROM user_list")
    assert ads_error(err.value) == ("query_error", "UNRECOGNIZED_FIELD")


def test_search_stream_returns_what_search_returns(client: Any) -> None:
    """SearchStream returns all rows of a query as a stream of batches ("Streaming", reporting guide,
    https://developers.google.com/google-ads/api/docs/reporting/streaming)."""
    for name in ("a", "b", "c"):
        create_list(client, name)
    query = "SELECT user_list.name FROM user_list ORDER BY user_list.name DESC"
    service = client.get_service(
        "GoogleAdsService"
    )  # held while streaming: a freed service closes the channel
    streamed = [row.user_list.name for batch in service.search_stream(customer_id=CUSTOMER, query=query)
                for row in batch.results]  # fmt: skip
    assert streamed == [row.user_list.name for row in search(client, query)] == ["c", "b", "a"]
