"""Every platform throttles at once (in turn here): Customer.io answers a 429 storm with Retry-After, Meta its
throttle code with the usage header, Google RESOURCE_EXHAUSTED with a retry delay. Runs finish within the bounded
retries, waiting what the server asked; a storm longer than the bound fails with a platform error, advances
nothing, and the next run completes exactly."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from chaos_support import META_ACCOUNT, META_SECRET, META_TOKEN, members

from airflow_provider_cio.landing.layout import PartitionRef
from airflow_provider_cio.landing.reader import PartitionNotFound, read_table
from airflow_provider_cio.sync import (
    Guardrails,
    PlatformError,
    RetryPolicy,
    SyncRequest,
    SyncRuntime,
    run_sync,
)
from cio_devkit.devstack.emulator_services import CUSTOMERIO_API_KEY

GUARDS = Guardrails(min_size=10)
GOOGLE_CUSTOMER = "1234567890"


class Sleeps(list[float]):
    """Records the waits instead of sleeping them (the waits are asserted; the test never depends on time)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _cio_faults(devstack, method: str, body: dict | None = None) -> None:  # type: ignore[no-untyped-def]
    port = devstack.read_state()["services"]["customerio"]["port"]
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_admin/faults", data=data, method=method)
    urllib.request.urlopen(request, timeout=10).close()


def test_customerio_429_storm_honours_retry_after_and_lands_the_same_rows(
    devstack, container_store, full
) -> None:
    from airflow_provider_cio.customerio.client import CustomerIoClient
    from airflow_provider_cio.customerio.errors import CustomerIoRateLimited
    from airflow_provider_cio.landing.app_api import land_listing

    host = devstack.connections()["cio_api"]["host"]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(days=3 if full else 1)

    def land(workspace: str, sleeps: Sleeps):  # type: ignore[no-untyped-def]
        client = CustomerIoClient(CUSTOMERIO_API_KEY, base_url=host, sleep=sleeps)
        ref = PartitionRef("landing", "dev", workspace, "metrics", start.date())
        return ref, land_listing(client, container_store, ref, start, end)

    control_ref, _ = land("calm", Sleeps())
    storm = 5
    _cio_faults(devstack, "POST", {"kind": "rate_limit", "count": storm, "retry_after": 2})
    try:
        sleeps = Sleeps()
        ref, manifest = land("stormy", sleeps)
    finally:
        _cio_faults(devstack, "DELETE")
    assert sleeps == [2.0] * storm  # exactly the server's hint, once per 429
    expected = read_table(container_store, control_ref)
    assert manifest.rows == expected.num_rows > 0
    order = [(name, "ascending") for name in expected.column_names]
    assert (
        read_table(container_store, ref).sort_by(order).equals(expected.sort_by(order))
    )  # same rows, each once

    _cio_faults(devstack, "POST", {"kind": "rate_limit", "count": 50, "retry_after": 2})
    try:
        with pytest.raises(CustomerIoRateLimited, match="429"):
            land("endless", Sleeps())
    finally:
        _cio_faults(devstack, "DELETE")
    with pytest.raises(PartitionNotFound):
        read_table(container_store, PartitionRef("landing", "dev", "endless", "metrics", start.date()))


def test_meta_throttle_waits_the_usage_header_and_ends_exact(meta, container_store, full) -> None:
    from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination

    size = 20_000 if full else 1_500
    destination = MetaCustomAudienceDestination(
        META_ACCOUNT, META_TOKEN, META_SECRET, graph_url=meta.url, max_batch_size=500
    )
    meta.inject("throttle", times=3, minutes=2)
    sleeps = Sleeps()
    report = run_sync(
        destination,
        container_store,
        SyncRequest(
            audience_name="throttled",
            members=members(range(size)),
            guards=GUARDS,
            quality_passed=True,
        ),
        runtime=SyncRuntime(
            sleep=sleeps,
        ),
    )
    assert sleeps == [120.0] * 3 and report.retries == 3
    assert set(meta.audience_members(report.audience_id)) == {f"x:cust-{i:06d}" for i in range(size)}

    meta.inject("throttle", times=50, minutes=1)  # longer than the bound: fail, advance nothing
    target = members(range(size // 2, size + size // 2))
    with pytest.raises(PlatformError) as err:
        run_sync(
            destination,
            container_store,
            SyncRequest(
                audience_name="throttled",
                members=target,
                guards=GUARDS,
                quality_passed=True,
            ),
            runtime=SyncRuntime(
                sleep=Sleeps(),
                retry=RetryPolicy(max_attempts=4),
            ),
        )
    assert err.value.error_class == "platform"
    meta.clear_faults()
    report = run_sync(
        destination,
        container_store,
        SyncRequest(
            audience_name="throttled",
            members=target,
            guards=GUARDS,
            quality_passed=True,
        ),
        runtime=SyncRuntime(
            sleep=Sleeps(),
        ),
    )
    assert set(meta.audience_members(report.audience_id)) == {
        f"x:cust-{i:06d}" for i in range(size // 2, size + size // 2)
    }
    keys = [(r["session_id"], r["batch_seq"]) for r in meta.edit_requests()]
    assert len(keys) == len(set(keys))


@pytest.fixture
def google() -> Iterator:
    from cio_devkit.emulators.google.server import GoogleEmulator
    from cio_devkit.emulators.google.settings import EmulatorSettings

    # processed on receipt: this test is about throttling, not Google's hours of asynchronous processing
    emulator = GoogleEmulator(tls=True, settings=EmulatorSettings(dm_processing_seconds=0)).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_google_resource_exhausted_waits_the_retry_delay_and_ends_exact(
    google, container_store, full
) -> None:
    from airflow_provider_cio.destinations.google.datamanager import (
        DataManagerDestination,
        build_ingestion_client,
    )

    list_id = google.create_user_list(GOOGLE_CUSTOMER, "throttled")
    channel = grpc.secure_channel(
        google.target, grpc.ssl_channel_credentials(root_certificates=google.cert_path.read_bytes())
    )
    sleeps = Sleeps()
    destination = DataManagerDestination(
        build_ingestion_client(channel=channel),
        operating_account_id=GOOGLE_CUSTOMER,
        user_list_ids={"throttled": str(list_id)},
        sleep=sleeps,
    )
    size = 20_000 if full else 2_000
    google.inject("resource_exhausted", method="IngestAudienceMembers", times=3, retry_delay_seconds=7)
    run_sync(
        destination,
        container_store,
        SyncRequest(
            audience_name="throttled",
            members=members(range(size)),
            guards=GUARDS,
            quality_passed=True,
        ),
        runtime=SyncRuntime(
            sleep=sleeps,
        ),
    )
    assert sleeps.count(7.0) == 3
    emails = {
        key
        for member in google.members(GOOGLE_CUSTOMER, list_id)
        for key in member
        if key.startswith("email:")
    }
    assert len(emails) == size
    assert emails == {"email:" + m.identifiers["email"][0] for m in members(range(size))}
