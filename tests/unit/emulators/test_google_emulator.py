"""The emulator validates like the real APIs (driven through the real SDK clients), and its CLI serves."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google_support import CUSTOMER, google_emulator, sha

from cio_devkit.emulators.google import gaql
from cio_devkit.emulators.google.faults import Fault, load_faults
from cio_devkit.emulators.google.server import GoogleEmulator


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    """The Google emulator (tests/unit/conftest.py serves the Meta one under this name)."""
    yield from google_emulator()


def ads(emulator: GoogleEmulator) -> Any:
    from google.ads.googleads.client import GoogleAdsClient
    from google.auth.credentials import AnonymousCredentials

    return GoogleAdsClient(
        credentials=AnonymousCredentials(), developer_token="t", endpoint=emulator.target, use_proto_plus=True
    )


def new_job(client: Any, emulator: GoogleEmulator, *, consent: bool = True) -> str:
    list_id = emulator.create_user_list(CUSTOMER, "l")
    job = client.get_type("OfflineUserDataJob")
    job.type_ = client.enums.OfflineUserDataJobTypeEnum.CUSTOMER_MATCH_USER_LIST
    job.customer_match_user_list_metadata.user_list = f"customers/{CUSTOMER}/userLists/{list_id}"
    if consent:
        job.customer_match_user_list_metadata.consent.ad_user_data = client.enums.ConsentStatusEnum.GRANTED
    service = client.get_service("OfflineUserDataJobService")
    return str(service.create_offline_user_data_job(customer_id=CUSTOMER, job=job).resource_name)


def op(client: Any, kind: str, *emails: str) -> Any:
    operation = client.get_type("OfflineUserDataJobOperation")
    if kind == "remove_all":
        operation.remove_all = True
        return operation
    data = getattr(operation, kind)
    for email in emails:
        ident = client.get_type("UserIdentifier")
        ident.hashed_email = email
        data.user_identifiers.append(ident)
    return operation


def add(client: Any, job: str, ops: list[Any], partial: bool = True) -> Any:
    return client.get_service("OfflineUserDataJobService").add_offline_user_data_job_operations(
        request={"resource_name": job, "operations": ops, "enable_partial_failure": partial}
    )


def codes(exc: Any) -> list[str]:
    return [getattr(e.error_code, e.error_code._pb.WhichOneof("error_code")).name for e in exc.failure.errors]


def test_ads_job_rules_order_conflicts_and_state_machine(emulator: GoogleEmulator) -> None:
    from google.ads.googleads.errors import GoogleAdsException

    client = ads(emulator)
    job = new_job(client, emulator)
    with pytest.raises(GoogleAdsException) as order:
        add(client, job, [op(client, "create", sha("a")), op(client, "remove_all")])
    assert codes(order.value) == ["INVALID_OPERATION_ORDER"]
    add(client, job, [op(client, "create", sha("a"))])
    with pytest.raises(GoogleAdsException) as conflict:
        add(client, job, [op(client, "remove", sha("b"))])
    assert codes(conflict.value) == ["CONFLICTING_OPERATION"]
    service = client.get_service("OfflineUserDataJobService")
    lro = service.run_offline_user_data_job(resource_name=job)
    with pytest.raises(GoogleAdsException) as started:
        add(client, job, [op(client, "create", sha("c"))])
    assert codes(started.value) == ["JOB_ALREADY_STARTED"]
    assert lro.done() is False  # RUNNING: one GetOperation poll (settings.job_polls=1) ...
    assert lro.done() is True  # ... then finished, polled through google.longrunning.Operations
    assert emulator.job_status(job) == "SUCCESS"


def test_ads_per_operation_problems_are_partial_failures_or_whole_failures(emulator: GoogleEmulator) -> None:
    from google.ads.googleads.errors import GoogleAdsException

    client = ads(emulator)
    job = new_job(client, emulator)
    too_many = op(client, "create", *[sha(str(i)) for i in range(21)])
    response = add(client, job, [op(client, "create", sha("ok")), op(client, "create", "nothex"), too_many])
    failure_type = type(client.get_type("GoogleAdsFailure"))
    failure = failure_type.deserialize(response.partial_failure_error.details[0].value)
    found = {
        e.location.field_path_elements[0].index: e.error_code.offline_user_data_job_error.name
        for e in failure.errors
    }
    assert found == {1: "INVALID_SHA256_FORMAT", 2: "TOO_MANY_USER_IDENTIFIERS"}
    with pytest.raises(GoogleAdsException):
        add(client, job, [op(client, "create", "nothex")], partial=False)


def test_ads_job_without_consent_runs_but_members_never_join(emulator: GoogleEmulator) -> None:
    client = ads(emulator)
    job = new_job(client, emulator, consent=False)
    add(client, job, [op(client, "create", sha("a"))])
    client.get_service("OfflineUserDataJobService").run_offline_user_data_job(resource_name=job)
    emulator.settle()
    assert emulator.job_status(job) == "SUCCESS"
    assert emulator.members(CUSTOMER, emulator.list_id(CUSTOMER, "l") or 0) == set()


def dm_client(emulator: GoogleEmulator) -> Any:
    from airflow_provider_cio.destinations.google.datamanager import build_ingestion_client

    assert emulator.cert_path is not None
    creds = grpc.ssl_channel_credentials(root_certificates=emulator.cert_path.read_bytes())
    return build_ingestion_client(channel=grpc.secure_channel(emulator.target, creds))


def dm_request(list_id: int, members: list[Any]) -> Any:
    from google.ads import datamanager_v1 as dm

    return dm.IngestAudienceMembersRequest(
        destinations=[
            dm.Destination(
                operating_account=dm.ProductAccount(
                    account_id=CUSTOMER, account_type=dm.ProductAccount.AccountType.GOOGLE_ADS
                ),
                product_destination_id=str(list_id),
            )
        ],
        audience_members=members,
        encoding=dm.Encoding.HEX,
        terms_of_service=dm.TermsOfService(
            customer_match_terms_of_service_status=dm.TermsOfServiceStatus.ACCEPTED
        ),
    )


def test_data_manager_limits_are_enforced(emulator: GoogleEmulator) -> None:
    from google.ads import datamanager_v1 as dm
    from google.api_core import exceptions as gexc

    client = dm_client(emulator)
    list_id = emulator.create_user_list(CUSTOMER, "l")

    def person(n: int) -> Any:
        return dm.AudienceMember(
            user_data=dm.UserData(
                user_identifiers=[dm.UserIdentifier(email_address=sha(str(i))) for i in range(n)]
            )
        )

    with pytest.raises(gexc.InvalidArgument) as too_many_ids:
        client.ingest_audience_members(request=dm_request(list_id, [person(11)]))
    assert too_many_ids.value.reason == "TOO_MANY_USER_IDENTIFIERS"
    with pytest.raises(gexc.InvalidArgument) as too_many_members:
        client.ingest_audience_members(request=dm_request(list_id, [person(1)] * 10_001))
    assert too_many_members.value.reason == "TOO_MANY_AUDIENCE_MEMBERS"
    unsigned = dm_request(list_id, [person(1)])
    unsigned.terms_of_service = dm.TermsOfService()
    with pytest.raises(gexc.InvalidArgument) as terms:
        client.ingest_audience_members(request=unsigned)
    assert terms.value.reason == "TERMS_AND_CONDITIONS_NOT_SIGNED"
    with pytest.raises(gexc.NotFound):
        client.retrieve_request_status(request={"request_id": "nope"})
    # No consent anywhere: accepted, but nobody joins (EEA rule).
    response = client.ingest_audience_members(request=dm_request(list_id, [person(1)]))
    emulator.settle()
    status = client.retrieve_request_status(request={"request_id": response.request_id})
    entry = status.request_status_per_destination[0]
    assert entry.request_status.name == "FAILED"
    assert entry.error_info.error_counts[0].reason.name == "PROCESSING_ERROR_REASON_NO_CONSENT"
    assert emulator.members(CUSTOMER, list_id) == set()


def test_gaql_parser_handles_our_shapes_and_refuses_others() -> None:
    q = gaql.parse(
        "SELECT user_list.id, user_list.name FROM user_list WHERE user_list.name = 'it\\'s' LIMIT 5"
    )
    assert q.resource == "user_list" and q.limit == 5
    assert q.conditions == (gaql.Condition("user_list.name", "=", "it's"),)
    assert gaql.parse("SELECT customer.id FROM customer").conditions == ()
    with pytest.raises(gaql.GaqlError) as bad:
        gaql.parse("SELECT x FROM y WHERE a > 3")
    assert bad.value.code == "BAD_FIELD_NAME"


def test_faults_file_and_cli_serve(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(
        json.dumps([{"kind": "resource_exhausted", "method": "Search", "retry_delay_seconds": 9}])
    )
    assert load_faults(faults) == [Fault(kind="resource_exhausted", method="Search", retry_delay_seconds=9)]
    with pytest.raises(ValueError):
        Fault(kind="nope")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cio_devkit.emulators.google", "--cert-dir", str(tmp_path / "certs"),
         "--faults", str(faults), "--seed-list", f"{CUSTOMER}:seeded"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("google emulator ready on 127.0.0.1:")
        target = line.split()[4]
        cert = (tmp_path / "certs" / "emulator-cert.pem").read_bytes()
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=cert))
        from google.api_core import exceptions as gexc

        from airflow_provider_cio.destinations.google.datamanager import build_ingestion_client

        with pytest.raises(gexc.NotFound):
            build_ingestion_client(channel=channel).retrieve_request_status(
                request={"request_id": "x"}, timeout=10
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_a_removal_takes_the_merged_member_or_only_the_keys_it_names_by_reading() -> None:
    from cio_devkit.emulators.google.state import UserList

    for reading, left in (("member", set()), ("identifier", {frozenset({"email:home", "phone:b"})})):
        user_list = UserList(customer_id="1", id=1, name="vip")
        user_list.add(frozenset({"email:home", "phone:a"}), 1)
        user_list.add(frozenset({"email:home", "phone:b"}), 2)  # shares a key: one merged member
        assert [m.keys for m in user_list.members] == [frozenset({"email:home", "phone:a", "phone:b"})]
        user_list.remove_by(frozenset({"phone:a"}), reading)
        assert {m.keys for m in user_list.members} == left, reading
