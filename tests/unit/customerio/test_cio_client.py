"""The App API client against the local emulator: pagination, limiter, retries, errors, exports and downloads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from airflow_provider_cio.customerio.client import CustomerIoClient
from airflow_provider_cio.customerio.errors import (
    CustomerIoAuthError,
    CustomerIoDownloadError,
    CustomerIoExportFailed,
    CustomerIoExportTimeout,
    CustomerIoRateLimited,
    CustomerIoRequestError,
    CustomerIoUnavailable,
)
from airflow_provider_cio.customerio.export_csv import Quarantine, iter_export_batches
from airflow_provider_cio.customerio.ratelimit import TokenBucket, shared_limiter
from airflow_provider_cio.customerio.retry import RetryPolicy
from cio_devkit.emulators.customerio import CustomerIoEmulator
from cio_devkit.emulators.synthetic import CART_CAMPAIGN_ID, SyntheticWorkspace, segment_mask

ClientFactory = Callable[..., CustomerIoClient]


def _statuses(emulator: CustomerIoEmulator, path: str) -> list[int]:
    return [r.status for r in emulator.requests if r.path == path]


# ---------------------------------------------------------------- listings and pagination


def test_messages_follow_the_cursor_until_next_is_empty(
    make_client: ClientFactory, emulator: CustomerIoEmulator, cio_workspace: SyntheticWorkspace
) -> None:
    d = cio_workspace.deliveries
    expected = d.filter(pc.fill_null(pc.equal(d["campaign_id"], CART_CAMPAIGN_ID), False))[
        "delivery_id"
    ].to_pylist()
    messages = list(make_client().iter_messages(campaign_id=CART_CAMPAIGN_ID, limit=97))

    assert [m["id"] for m in messages] == expected
    pages = [r for r in emulator.requests if r.path == "/v1/messages"]
    assert len(pages) == -(-len(expected) // 97)
    assert "start" not in pages[0].query
    assert all("start" in p.query and p.query["limit"] == ["97"] for p in pages[1:])
    first = messages[0]
    assert first["customer_identifiers"]["id"] == first["customer_id"]
    assert first["metrics"]["sent"] >= first["created"]


def test_message_filters_reach_the_server(make_client: ClientFactory, emulator: CustomerIoEmulator) -> None:
    start = datetime(2024, 3, 5, tzinfo=UTC)
    messages = list(
        make_client().iter_messages(newsletter_id=101, metric="clicked", start_ts=start, limit=1000)
    )

    assert messages, "the synthetic workspace has clicked newsletter deliveries after March 5"
    assert all(m["newsletter_id"] == 101 and "clicked" in m["metrics"] for m in messages)
    assert all(m["created"] >= int(start.timestamp()) for m in messages)
    query = emulator.requests[-1].query
    assert query["newsletter_id"] == ["101"] and query["metric"] == ["clicked"]
    assert query["start_ts"] == [str(int(start.timestamp()))]


def test_message_limit_is_checked_before_calling(
    make_client: ClientFactory, emulator: CustomerIoEmulator
) -> None:
    with pytest.raises(ValueError, match="limit"):
        list(make_client().iter_messages(limit=1001))
    assert emulator.requests == []


def test_segment_membership_pages_through_every_member(
    make_client: ClientFactory, emulator: CustomerIoEmulator, cio_workspace: SyntheticWorkspace
) -> None:
    mask = segment_mask(cio_workspace, 2)
    expected = cio_workspace.people.filter(mask)["customer_id"].to_pylist()
    members = list(make_client().iter_segment_membership(2, limit=64))

    assert [m["id"] for m in members] == expected
    assert all(set(m) == {"id", "email", "cio_id"} for m in members)
    assert len(_statuses(emulator, "/v1/segments/2/membership")) == -(-len(expected) // 64)


def test_activities_campaigns_segments_and_ping(
    make_client: ClientFactory, cio_workspace: SyntheticWorkspace
) -> None:
    client = make_client()
    client.ping()
    orders = list(client.iter_activities(name="order_completed", limit=50))
    assert len(orders) == cio_workspace.orders.num_rows
    assert {a["name"] for a in orders} == {"order_completed"}
    campaigns = {c["id"]: c for c in client.list_campaigns()}
    assert {a["id"] for a in campaigns[CART_CAMPAIGN_ID]["actions"]} == {21, 22}
    assert [s["id"] for s in client.list_segments()] == [1, 2, 3, 4]
    assert client.list_workspaces()[0]["people"] == cio_workspace.people.num_rows
    assert client.list_exports() == []  # the emulator answers {"exports": null}, like an empty workspace


def test_region_and_base_url_selection(api_key: str) -> None:
    assert CustomerIoClient(api_key).base_url == "https://api.customer.io"
    assert CustomerIoClient(api_key, region="EU").base_url == "https://api-eu.customer.io"
    assert CustomerIoClient(api_key, base_url="http://127.0.0.1:9/v1/").base_url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="region"):
        CustomerIoClient(api_key, region="ap")


# ---------------------------------------------------------------- rate limiting


def test_limiter_keeps_threads_under_ten_requests_per_second(
    cio_workspace: SyntheticWorkspace, api_key: str
) -> None:
    """Four threads share one 10 req/s budget; the emulator enforces 10 req/s too and must never answer 429.
    (The spacing itself is asserted on the limiter's fake clock below: arrival times on a shared machine are not.)"""
    with CustomerIoEmulator(cio_workspace, api_key, rate_limit=10.0, rate_burst=10) as emulator:
        clients = [CustomerIoClient(api_key, base_url=emulator.url, rate_limit=10.0) for _ in range(4)]
        assert all(c.limiter is clients[0].limiter for c in clients)

        def work(client: CustomerIoClient) -> None:
            for _ in range(6):
                client.list_segments()

        threads = [threading.Thread(target=work, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [r.status for r in emulator.requests]

    assert len(statuses) == 24
    assert statuses.count(429) == 0


def test_threads_sharing_a_limiter_get_distinct_slots_ten_per_second() -> None:
    """24 requests from four threads at one instant of the limiter's (fake) clock: each is given its own slot,
    0.1 s after the previous one, so no second holds more than 10 - whatever the threads' interleaving."""
    waits: list[float] = []
    lock = threading.Lock()
    bucket = TokenBucket(10.0, burst=1, clock=lambda: 100.0, sleep=lambda seconds: None)

    def work() -> None:
        for _ in range(6):
            wait = bucket.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    slots = sorted(round(w * 10) for w in waits)  # in tenths of a second after the first request
    assert slots == list(range(24))
    starts = sorted(waits)
    assert max(sum(1 for t in starts if s <= t < s + 1.0 - 1e-9) for s in starts) == 10


def test_limiters_are_shared_per_key_and_host(api_key: str) -> None:
    same = shared_limiter("h:1", api_key)
    assert shared_limiter("h:1", api_key) is same
    assert shared_limiter("h:2", api_key) is not same
    assert shared_limiter("h:1", api_key + "x") is not same


# ---------------------------------------------------------------- retries


def test_429_storm_waits_exactly_retry_after_then_succeeds(
    make_client: ClientFactory, emulator: CustomerIoEmulator, sleeps: Any
) -> None:
    emulator.faults.rate_limit_storm(3, retry_after=2)
    segments = make_client().list_segments()

    assert len(segments) == 4
    assert _statuses(emulator, "/v1/segments") == [429, 429, 429, 200]
    assert sleeps.calls == [2.0, 2.0, 2.0]


def test_429_without_retry_after_backs_off_exponentially(
    make_client: ClientFactory, emulator: CustomerIoEmulator, sleeps: Any
) -> None:
    emulator.faults.rate_limit_storm(3, retry_after=None)
    make_client().list_segments()

    waits = sleeps.calls
    assert len(waits) == 3
    for attempt, wait in enumerate(waits, start=1):
        ceiling = 0.5 * 2 ** (attempt - 1)
        assert ceiling * 0.5 <= wait <= ceiling  # base 0.5 s doubling, jitter takes off up to half


def test_5xx_then_success(make_client: ClientFactory, emulator: CustomerIoEmulator) -> None:
    emulator.faults.server_errors(2, status=502)
    assert make_client().list_campaigns()
    assert _statuses(emulator, "/v1/campaigns") == [502, 502, 200]


def test_5xx_exhausted_raises_unavailable_naming_endpoint_and_status(
    make_client: ClientFactory, emulator: CustomerIoEmulator
) -> None:
    emulator.faults.server_errors(10, status=503)
    with pytest.raises(CustomerIoUnavailable) as caught:
        make_client().list_campaigns()

    assert "GET /v1/campaigns" in str(caught.value) and "503" in str(caught.value)
    assert caught.value.status == 503
    assert _statuses(emulator, "/v1/campaigns") == [503] * 4


def test_429_exhausted_raises_rate_limited_with_the_hint(
    make_client: ClientFactory, emulator: CustomerIoEmulator
) -> None:
    emulator.faults.rate_limit_storm(10, retry_after=1)
    with pytest.raises(CustomerIoRateLimited) as caught:
        make_client().list_segments()
    assert caught.value.retry_after == 1.0
    assert caught.value.error_class == "platform"


def test_retry_after_beyond_the_wait_budget_fails_fast(
    make_client: ClientFactory, emulator: CustomerIoEmulator, sleeps: Any
) -> None:
    emulator.faults.rate_limit_storm(1, retry_after=600)
    client = make_client(retry=RetryPolicy(max_attempts=5, max_total_wait=30.0))
    with pytest.raises(CustomerIoRateLimited, match="retry budget"):
        client.list_segments()
    assert sleeps.calls == []
    assert len(emulator.requests) == 1


def test_timeout_is_retried(make_client: ClientFactory, emulator: CustomerIoEmulator, sleeps: Any) -> None:
    emulator.faults.slow(1, delay=5.0)
    segments = make_client(timeout=0.3).list_segments()
    assert len(segments) == 4
    assert len(sleeps.calls) == 1


def test_timeouts_exhausted_raise_unavailable(
    make_client: ClientFactory, emulator: CustomerIoEmulator
) -> None:
    emulator.faults.slow(2, delay=5.0)
    client = make_client(timeout=0.3, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(CustomerIoUnavailable, match="Timeout"):
        client.list_segments()


def test_bad_key_is_a_configuration_error_and_never_retried(
    make_client: ClientFactory, emulator: CustomerIoEmulator
) -> None:
    with pytest.raises(CustomerIoAuthError) as caught:
        make_client(api_key="sk-wrong-key-0123456789").ping()
    assert caught.value.error_class == "configuration"
    assert caught.value.status == 401
    assert len(emulator.requests) == 1


def test_bad_request_is_not_retried(make_client: ClientFactory, emulator: CustomerIoEmulator) -> None:
    with pytest.raises(CustomerIoRequestError, match="400"):
        make_client().create_customers_export({"segment": {"id": 999}})
    assert len(emulator.requests) == 1


# ---------------------------------------------------------------- secrets never leak


def _failures(make_client: ClientFactory, emulator: CustomerIoEmulator) -> list[Exception]:
    errors: list[Exception] = []
    attempts: list[Callable[[], object]] = [
        lambda: make_client(api_key=emulator._api_key + "-revoked").ping(),
        lambda: make_client().list_segments(),
        lambda: make_client().list_campaigns(),
    ]
    emulator.faults.rate_limit_storm(4, retry_after=0, path_prefix="/v1/segments")
    emulator.faults.server_errors(4, path_prefix="/v1/campaigns")
    for attempt in attempts:
        try:
            attempt()
        except Exception as exc:  # collected for inspection
            errors.append(exc)
    export_id = _ready_export(make_client())
    emulator.faults.truncate_downloads(3)
    try:
        make_client(download_attempts=3).download_export(export_id)
    except Exception as exc:
        errors.append(exc)
    return errors


def test_api_key_and_url_signatures_never_appear_in_errors_or_logs(
    make_client: ClientFactory, emulator: CustomerIoEmulator, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors = _failures(make_client, emulator)

    assert [type(e) for e in errors] == [
        CustomerIoAuthError,
        CustomerIoRateLimited,
        CustomerIoUnavailable,
        CustomerIoDownloadError,
    ]
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [caplog.text, repr(make_client())]
    signatures = list(emulator._signed)
    assert len(signatures) == 3
    for text in texts:
        assert api_key not in text
        assert not any(signature in text for signature in signatures)
    assert "sha256:" in str(errors[0])  # a fingerprint names the key without revealing it


# ---------------------------------------------------------------- exports


def _landed(client: CustomerIoClient, export_id: int, quarantine: Quarantine | None = None) -> pa.Table:
    batches = list(
        iter_export_batches(client.download_export(export_id), "deliveries", quarantine=quarantine)
    )
    return pa.Table.from_batches(batches)


def test_deliveries_export_round_trip(
    make_client: ClientFactory, emulator: CustomerIoEmulator, cio_workspace: SyntheticWorkspace
) -> None:
    client = make_client()
    export = client.create_deliveries_export(campaign_id=CART_CAMPAIGN_ID)
    assert export["status"] == "pending"
    done = client.wait_for_export(export["id"], poll_interval=0.01, timeout=10)
    assert done["status"] == "done"

    landed = _landed(client, export["id"])
    d = cio_workspace.deliveries
    expected = d.filter(pc.fill_null(pc.equal(d["campaign_id"], CART_CAMPAIGN_ID), False))
    assert landed.equals(expected)
    assert _statuses(emulator, "/v1/exports/1") == [200, 200]


def test_deliveries_export_needs_exactly_one_parent(
    make_client: ClientFactory, emulator: CustomerIoEmulator
) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="exactly one"):
        client.create_deliveries_export()
    with pytest.raises(ValueError, match="exactly one"):
        client.create_deliveries_export(campaign_id=2, newsletter_id=101)
    with pytest.raises(ValueError, match="12 months"):
        client.create_deliveries_export(
            campaign_id=2, start=datetime(2023, 1, 1, tzinfo=UTC), end=datetime(2024, 3, 1, tzinfo=UTC)
        )
    assert emulator.requests == []


def test_deliveries_export_sends_range_metric_and_attributes(
    make_client: ClientFactory, cio_workspace: SyntheticWorkspace
) -> None:
    client = make_client()
    start, end = datetime(2024, 3, 3, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC)
    export = client.create_deliveries_export(newsletter_id=101, start=start, end=end, metric="opened")
    done = client.wait_for_export(
        export["id"], poll_interval=0.01, timeout=10
    )  # total is 0 until done (docs)
    landed = _landed(client, export["id"])

    assert landed.num_rows == done["total"] > 0
    assert pc.all(pc.is_valid(landed["opened_at"])).as_py()
    assert pc.min(landed["created_at"]).as_py() >= start and pc.max(landed["created_at"]).as_py() < end


def test_customers_export_with_segment_filter(
    make_client: ClientFactory, cio_workspace: SyntheticWorkspace
) -> None:
    client = make_client()
    export = client.create_customers_export(
        {"and": [{"segment": {"id": 4}}, {"not": {"segment": {"id": 3}}}]}
    )
    client.wait_for_export(export["id"], poll_interval=0.01, timeout=10)
    people = pa.Table.from_batches(
        list(
            iter_export_batches(
                client.download_export(export["id"]), "people", fills={"created_at": 0, "updated_at": 0}
            )
        )
    )
    us = pc.and_(segment_mask(cio_workspace, 4), pc.invert(segment_mask(cio_workspace, 3)))
    assert people["customer_id"].to_pylist() == cio_workspace.people.filter(us)["customer_id"].to_pylist()


def test_failed_export_raises(make_client: ClientFactory, emulator: CustomerIoEmulator) -> None:
    emulator.faults.fail_exports(1)
    client = make_client()
    export = client.create_deliveries_export(action_id=21)
    with pytest.raises(CustomerIoExportFailed, match="failed"):
        client.wait_for_export(export["id"], poll_interval=0.01, timeout=10)


def test_export_wait_times_out(make_client: ClientFactory, emulator: CustomerIoEmulator) -> None:
    emulator.pending_polls = 10_000
    client = make_client(sleep=lambda s: None)
    export = client.create_deliveries_export(action_id=21)
    with pytest.raises(CustomerIoExportTimeout, match="pending"):
        client.wait_for_export(export["id"], poll_interval=0.05, timeout=0.0)


# ---------------------------------------------------------------- downloads


def _ready_export(client: CustomerIoClient) -> int:
    export = client.create_deliveries_export(campaign_id=CART_CAMPAIGN_ID)
    client.wait_for_export(export["id"], poll_interval=0.01, timeout=10)
    return int(export["id"])


def _signed_statuses(emulator: CustomerIoEmulator) -> list[int]:
    return [r.status for r in emulator.requests if r.path.startswith("/_signed/")]


def test_expired_url_is_replaced_by_a_fresh_one(
    make_client: ClientFactory, emulator: CustomerIoEmulator
) -> None:
    client = make_client()
    export_id = _ready_export(client)
    reference = b"".join(client.download_export(export_id))
    before = len(emulator.requests)
    emulator.faults.expire_urls(1)

    assert b"".join(client.download_export(export_id)) == reference
    later = emulator.requests[before:]
    assert [r.path for r in later].count(f"/v1/exports/{export_id}/download") == 2
    assert [r.status for r in later if r.path.startswith("/_signed/")] == [403, 200]


def test_truncated_download_is_retried_from_scratch(
    make_client: ClientFactory, emulator: CustomerIoEmulator, cio_workspace: SyntheticWorkspace
) -> None:
    client = make_client()
    export_id = _ready_export(client)
    emulator.faults.truncate_downloads(1, fraction=0.6)

    landed = _landed(client, export_id)
    d = cio_workspace.deliveries
    assert (
        landed.num_rows
        == d.filter(pc.fill_null(pc.equal(d["campaign_id"], CART_CAMPAIGN_ID), False)).num_rows
    )
    assert len(_signed_statuses(emulator)) == 2


def test_persistent_truncation_gives_a_clear_error_and_no_output(
    make_client: ClientFactory, emulator: CustomerIoEmulator
) -> None:
    client = make_client(download_attempts=3)
    export_id = _ready_export(client)
    emulator.faults.truncate_downloads(3)
    received: list[bytes] = []
    with pytest.raises(CustomerIoDownloadError, match="3 attempts") as caught:
        received.extend(client.download_export(export_id))

    assert received == []
    assert (
        "truncated" in str(caught.value)
        or "IncompleteRead" in str(caught.value)
        or "Protocol" in str(caught.value)
    )
    assert len(_signed_statuses(emulator)) == 3


@pytest.mark.parametrize("gzip_downloads", [False, True])
def test_gzip_and_plain_csv_give_identical_bytes(
    cio_workspace: SyntheticWorkspace, api_key: str, gzip_downloads: bool
) -> None:
    with CustomerIoEmulator(
        cio_workspace, api_key, rate_limit=None, gzip_downloads=gzip_downloads
    ) as emulator:
        client = CustomerIoClient(api_key, base_url=emulator.url, rate_limit=1000)
        export_id = _ready_export(client)
        payload = b"".join(client.download_export(export_id, chunk_size=4096))
        signed = [r.path for r in emulator.requests if r.path.startswith("/_signed/")]

    assert payload.startswith(b"id,customer_id,cio_id,")
    assert payload.count(b"\n") == 1 + emulator._exports[export_id].total
    assert signed[0].endswith(".csv.gz" if gzip_downloads else ".csv")
