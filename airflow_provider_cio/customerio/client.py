"""Customer.io App API client: exports, listings and a ping, with rate limiting, bounded retries and clear errors.

Airflow-free on purpose: hooks build it from a connection, tests point it at the local emulator with ``base_url``.
Every call has a timeout; 408/429/5xx and connection failures are retried with exponential backoff and jitter that
yields to ``Retry-After``; 401/403 fail at once as a configuration error. Messages and logs name the endpoint and
the status, never the API key or a signed download URL's query string.

Customer.io has no endpoint to cancel an export (none is documented), so this client offers none: an export that
is no longer wanted is simply not downloaded.
"""

from __future__ import annotations

import logging
import random
import re
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any
from urllib.parse import urlsplit

import requests

from airflow_provider_cio.customerio.errors import (
    CustomerIoAuthError,
    CustomerIoDownloadError,
    CustomerIoError,
    CustomerIoExportFailed,
    CustomerIoExportTimeout,
    CustomerIoRateLimited,
    CustomerIoRequestError,
    CustomerIoUnavailable,
)
from airflow_provider_cio.customerio.export_status import ExportStatus, export_status
from airflow_provider_cio.customerio.ratelimit import TokenBucket, key_fingerprint, shared_limiter
from airflow_provider_cio.customerio.retry import RetryPolicy, is_retryable_status, parse_retry_after
from airflow_provider_cio.customerio.spool import SpooledBytes

log = logging.getLogger(__name__)

REGION_BASE_URLS: dict[str, str] = {
    "us": "https://api.customer.io",
    "eu": "https://api-eu.customer.io",
}
DELIVERY_PARENT_IDS = ("newsletter_id", "campaign_id", "action_id", "transactional_message_id")
# Customer.io cuts a deliveries export range to the 12 months before its end, silently (exportDeliveriesData): we
# refuse longer ranges before calling. 360 days is inside 12 months under either reading (calendar or 30-day months).
MAX_DELIVERIES_EXPORT_RANGE = timedelta(days=360)
MESSAGES_PAGE_LIMIT = 1000
MEMBERSHIP_PAGE_LIMIT = 30000
GZIP_MAGIC = b"\x1f\x8b"

_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")


def _mask_text(text: str, limit: int = 200) -> str:
    """Server error details may echo request values: mask anything email-shaped and cut to ``limit``."""
    return _EMAIL_RE.sub(r"\1***@\2", text)[:limit]


def _unix_seconds(value: int | float | datetime | date | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware datetime (UTC) for export ranges")
        return int(value.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    return int(value)


_SIGNED_QUERY_RE = re.compile(
    r"([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|sig|GoogleAccessId|token)=)[^&\s\"']*",
    re.IGNORECASE,
)


class _SignedUrlRedactor(logging.Filter):
    """urllib3 logs request URLs at DEBUG; a pre-signed download URL carries its credential in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SIGNED_QUERY_RE.sub(r"\1REDACTED", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _install_signed_url_redaction() -> None:
    target = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _SignedUrlRedactor) for f in target.filters):
        target.addFilter(_SignedUrlRedactor())


_install_signed_url_redaction()


def _url_for_humans(url: str) -> str:
    """Scheme, host and path of a URL: signed URLs carry their credential in the query string."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class _DownloadAttemptFailed(Exception):
    """One download attempt failed in a way a fresh URL and a fresh start may fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CustomerIoClient:
    """Talks to one Customer.io workspace through the App API (``region`` "us"/"eu" or an explicit ``base_url``)."""

    def __init__(
        self,
        api_key: str,
        *,
        region: str = "us",
        base_url: str | None = None,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        retry: RetryPolicy | None = None,
        rate_limit: float = 10.0,
        rate_burst: int = 1,
        limiter: TokenBucket | None = None,
        download_attempts: int = 3,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise CustomerIoAuthError("the Customer.io App API key is empty: set it on the connection")
        if base_url is None:
            try:
                base_url = REGION_BASE_URLS[region.lower()]
            except KeyError:
                raise ValueError(f"unknown Customer.io region {region!r}; use 'us' or 'eu'") from None
        base = base_url.rstrip("/")
        if base.endswith("/v1"):
            base = base[: -len("/v1")]
        self.base_url = base
        self._api_key = api_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.download_attempts = download_attempts
        host = urlsplit(base).netloc
        self.limiter = limiter or shared_limiter(host, api_key, rate=rate_limit, burst=rate_burst)
        self._session = session or requests.Session()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.key_tag = key_fingerprint(api_key)

    def __repr__(self) -> str:
        return f"CustomerIoClient(base_url={self.base_url!r}, key=sha256:{self.key_tag})"

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """One App API call with limiter, timeout and bounded retries; returns the decoded JSON body."""
        label = endpoint or f"{method} {path}"
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            status: int | None = None
            retry_after: float | None = None
            try:
                response = self._session.request(
                    method, url, params=params, json=json, headers=headers, timeout=self.timeout
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                reason = f"{type(exc).__name__} (no answer within the timeout or connection failed)"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return self._decode(response, label)
                if status in (401, 403):
                    raise CustomerIoAuthError(
                        f"Customer.io {label} answered {status}: the App API key (sha256:{self.key_tag}) is "
                        "invalid, revoked or lacks access to this workspace/region; fix the connection",
                        endpoint=label,
                        status=status,
                    )
                if not is_retryable_status(status):
                    raise CustomerIoRequestError(
                        f"Customer.io {label} answered {status}: {self._error_detail(response)}",
                        endpoint=label,
                        status=status,
                    )
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                reason = f"status {status}"
                response.close()
            if attempt >= self.retry.max_attempts:
                raise self._exhausted(label, status, reason, attempt, retry_after)
            delay = retry_after if retry_after is not None else self.retry.backoff(attempt, self._rng)
            if waited + delay > self.retry.max_total_wait:
                raise self._exhausted(label, status, reason, attempt, retry_after, budget=True)
            log.warning(
                "Customer.io %s: %s; retry %d of %d in %.2fs%s",
                label,
                reason,
                attempt,
                self.retry.max_attempts - 1,
                delay,
                " (Retry-After)" if retry_after is not None else "",
            )
            self._sleep(delay)
            waited += delay

    def _exhausted(
        self,
        label: str,
        status: int | None,
        reason: str,
        attempts: int,
        retry_after: float | None,
        *,
        budget: bool = False,
    ) -> CustomerIoError:
        why = (
            f"the next wait would exceed the {self.retry.max_total_wait:.0f}s retry budget"
            if budget
            else f"{attempts} attempts"
        )
        if status == 429:
            return CustomerIoRateLimited(
                f"Customer.io {label} kept answering 429 (rate limited) after {why}; "
                "another job may be sharing this workspace's 10 req/s budget",
                endpoint=label,
                retry_after=retry_after,
            )
        return CustomerIoUnavailable(
            f"Customer.io {label} unavailable: {reason} after {why}", endpoint=label, status=status
        )

    @staticmethod
    def _error_detail(response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return "no error detail"
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            details = [str(e.get("detail", "")) for e in errors if isinstance(e, dict)]
            return _mask_text("; ".join(d for d in details if d) or "no error detail")
        if isinstance(body, dict) and body.get("meta", {}).get("error"):
            return _mask_text(str(body["meta"]["error"]))
        return "no error detail"

    @staticmethod
    def _decode(response: requests.Response, label: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise CustomerIoUnavailable(
                f"Customer.io {label} answered {response.status_code} with a body that is not JSON",
                endpoint=label,
                status=response.status_code,
            ) from None
        return body if isinstance(body, dict) else {"items": body}

    def _paginate(
        self,
        path: str,
        items_key: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[Any]:
        """Follow the cursor: each answer's ``next`` goes back as ``start``; an empty ``next`` ends."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            query = {k: v for k, v in (params or {}).items() if v is not None}
            if limit is not None:
                query["limit"] = limit
            if cursor:
                query["start"] = cursor
            body = self._request("GET", path, endpoint=endpoint, params=query)
            yield from body.get(items_key) or []
            cursor = body.get("next") or None
            if not cursor:
                return
            if cursor in seen:
                raise CustomerIoError(
                    f"Customer.io {endpoint} returned a cursor it had already returned; stopping to avoid a loop",
                    endpoint=endpoint,
                )
            seen.add(cursor)

    # ------------------------------------------------------------------ small calls

    def list_workspaces(self) -> list[dict[str, Any]]:
        """``GET /v1/workspaces``: the workspaces this key sees, with people and message counts."""
        return list(self._request("GET", "/v1/workspaces").get("workspaces") or [])

    def ping(self) -> None:
        """Cheapest authenticated call (``GET /v1/workspaces``): raises on bad key or an unreachable region."""
        self._request("GET", "/v1/workspaces")

    def list_campaigns(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/campaigns").get("campaigns") or [])

    def list_newsletters(self) -> list[dict[str, Any]]:
        """``GET /v1/newsletters`` (broadcast-style sends: their deliveries are exported per newsletter)."""
        return list(
            self._paginate("/v1/newsletters", "newsletters", endpoint="GET /v1/newsletters", params={})
        )

    def list_segments(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/segments").get("segments") or [])

    # ------------------------------------------------------------------ listings

    def iter_messages(
        self,
        *,
        campaign_id: int | None = None,
        newsletter_id: int | None = None,
        action_id: int | None = None,
        metric: str | None = None,
        type: str | None = None,
        start_ts: int | datetime | None = None,
        end_ts: int | datetime | None = None,
        limit: int = MESSAGES_PAGE_LIMIT,
        **extra_filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """``GET /v1/messages``: deliveries with their metric timestamps, page by page."""
        if not 1 <= limit <= MESSAGES_PAGE_LIMIT:
            raise ValueError(f"limit must be between 1 and {MESSAGES_PAGE_LIMIT}")
        params = {
            "campaign_id": campaign_id,
            "newsletter_id": newsletter_id,
            "action_id": action_id,
            "metric": metric,
            "type": type,
            "start_ts": _unix_seconds(start_ts),
            "end_ts": _unix_seconds(end_ts),
            **extra_filters,
        }
        return self._paginate(
            "/v1/messages", "messages", endpoint="GET /v1/messages", params=params, limit=limit
        )

    def iter_segment_membership(
        self, segment_id: int, *, limit: int = MEMBERSHIP_PAGE_LIMIT
    ) -> Iterator[dict[str, Any]]:
        """``GET /v1/segments/{id}/membership``: one ``{id, email, cio_id}`` per member."""
        if not 1 <= limit <= MEMBERSHIP_PAGE_LIMIT:
            raise ValueError(f"limit must be between 1 and {MEMBERSHIP_PAGE_LIMIT}")
        endpoint = "GET /v1/segments/{id}/membership"
        path = f"/v1/segments/{int(segment_id)}/membership"
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            query: dict[str, Any] = {"limit": limit}
            if cursor:
                query["start"] = cursor
            body = self._request("GET", path, endpoint=endpoint, params=query)
            identifiers = body.get("identifiers")
            if identifiers is None:
                identifiers = [{"id": i} for i in body.get("ids") or []]
            yield from identifiers
            cursor = body.get("next") or None
            if not cursor:
                return
            if cursor in seen:
                raise CustomerIoError(f"Customer.io {endpoint} repeated a cursor", endpoint=endpoint)
            seen.add(cursor)

    def iter_activities(
        self,
        *,
        customer_id: str | None = None,
        type: str | None = None,
        name: str | None = None,
        deleted: bool | None = None,
        limit: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """``GET /v1/activities`` (Customer.io guarantees about 30 days of history only)."""
        params = {
            "customer_id": customer_id,
            "type": type,
            "name": name,
            "deleted": None if deleted is None else str(deleted).lower(),
        }
        return self._paginate(
            "/v1/activities", "activities", endpoint="GET /v1/activities", params=params, limit=limit
        )

    # ------------------------------------------------------------------ exports

    def create_customers_export(
        self, filters: Mapping[str, Any], attributes: list[str] | None = None
    ) -> dict[str, Any]:
        """``POST /v1/exports/customers``: start an export of the people matching ``filters``."""
        if not filters:
            raise ValueError("a customers export needs filters, e.g. {'segment': {'id': 1}}")
        body: dict[str, Any] = {"filters": dict(filters)}
        if attributes:
            body["attributes"] = list(attributes)
        return self._export_from(self._request("POST", "/v1/exports/customers", json=body), "customers")

    def create_deliveries_export(
        self,
        *,
        newsletter_id: int | None = None,
        campaign_id: int | None = None,
        action_id: int | None = None,
        transactional_message_id: int | None = None,
        start: int | datetime | date | None = None,
        end: int | datetime | date | None = None,
        metric: str | None = None,
        attributes: list[str] | None = None,
        drafts: bool | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/exports/deliveries`` for exactly one parent (newsletter, campaign, action or transactional)."""
        parents = {
            "newsletter_id": newsletter_id,
            "campaign_id": campaign_id,
            "action_id": action_id,
            "transactional_message_id": transactional_message_id,
        }
        given = [name for name, value in parents.items() if value is not None]
        if len(given) != 1:
            raise ValueError(
                "a deliveries export needs exactly one of newsletter_id, campaign_id, action_id, "
                f"transactional_message_id; got {len(given)} ({', '.join(given) or 'none'})"
            )
        start_s, end_s = _unix_seconds(start), _unix_seconds(end)
        if start_s is not None and end_s is not None:
            if end_s <= start_s:
                raise ValueError("deliveries export end must be after start")
            if end_s - start_s > MAX_DELIVERIES_EXPORT_RANGE.total_seconds():
                raise ValueError("Customer.io caps a deliveries export range at 12 months; split the range")
        body: dict[str, Any] = {given[0]: int(parents[given[0]])}  # type: ignore[arg-type]
        optional = {"start": start_s, "end": end_s, "metric": metric, "drafts": drafts}
        body.update({k: v for k, v in optional.items() if v is not None})
        if attributes:
            body["attributes"] = list(attributes)
        return self._export_from(self._request("POST", "/v1/exports/deliveries", json=body), "deliveries")

    @staticmethod
    def _export_from(body: dict[str, Any], kind: str) -> dict[str, Any]:
        export = body.get("export")
        if not isinstance(export, dict) or "id" not in export:
            raise CustomerIoExportFailed(f"Customer.io created a {kind} export but returned no export id")
        return export

    def get_export(self, export_id: int) -> dict[str, Any]:
        body = self._request("GET", f"/v1/exports/{int(export_id)}", endpoint="GET /v1/exports/{id}")
        return self._export_from(body, "requested")

    def list_exports(self) -> list[dict[str, Any]]:
        """``GET /v1/exports``; an empty workspace answers ``{"exports": null}``, which becomes ``[]``."""
        return list(self._request("GET", "/v1/exports").get("exports") or [])

    def wait_for_export(
        self, export_id: int, *, poll_interval: float = 10.0, timeout: float = 3600.0
    ) -> dict[str, Any]:
        """Poll until the export is done; raise ``CustomerIoExportFailed`` / ``CustomerIoExportTimeout``."""
        deadline = time.monotonic() + timeout
        polls = 0
        while True:
            export = self.get_export(export_id)
            polls += 1
            status = export_status(export)
            if status is ExportStatus.DONE:
                return export
            if status is ExportStatus.FAILED:
                raise CustomerIoExportFailed(
                    f"Customer.io export {export_id} ({export.get('type', '?')}) failed on Customer.io's side",
                    endpoint="GET /v1/exports/{id}",
                )
            if time.monotonic() + poll_interval > deadline:
                raise CustomerIoExportTimeout(
                    f"Customer.io export {export_id} still '{export.get('status') or 'unknown'}' after {polls} polls "
                    f"within {timeout:.0f}s",
                    endpoint="GET /v1/exports/{id}",
                )
            self._sleep(poll_interval)

    def export_download_url(self, export_id: int) -> str:
        """A fresh signed URL (they expire after about 15 minutes, so fetch one per attempt)."""
        body = self._request(
            "GET", f"/v1/exports/{int(export_id)}/download", endpoint="GET /v1/exports/{id}/download"
        )
        url = body.get("url") or body.get("link")
        if not url:
            raise CustomerIoDownloadError(
                f"Customer.io export {export_id} download answered without a url",
                endpoint="GET /v1/exports/{id}/download",
            )
        return str(url)

    def download_export(
        self,
        export_id: int,
        *,
        chunk_size: int = 1024 * 1024,
        spool_in_memory: int = 16 * 1024 * 1024,
    ) -> SpooledBytes:
        """The export's CSV, decompressed, as chunks: only after a complete, verified download.

        Each attempt fetches a fresh signed URL and restarts from byte zero. The content goes through a spool
        (memory up to ``spool_in_memory`` bytes, then a temporary file) so memory stays bounded and a download that
        breaks half-way never hands out partial output. The result can be iterated more than once (the parser may
        replay it); close it, or use it as a context manager, to free the spool. Raises ``CustomerIoDownloadError``
        when attempts run out.
        """
        endpoint = "GET /v1/exports/{id}/download"
        reasons: list[str] = []
        for attempt in range(1, self.download_attempts + 1):
            url = self.export_download_url(export_id)
            spool = tempfile.SpooledTemporaryFile(max_size=spool_in_memory)  # noqa: SIM115 - handed to the iterator
            try:
                self._fetch_into(url, spool, chunk_size)
            except _DownloadAttemptFailed as failure:
                spool.close()
                reasons.append(failure.reason)
                log.warning(
                    "Customer.io export %s download attempt %d of %d from %s failed: %s",
                    export_id,
                    attempt,
                    self.download_attempts,
                    _url_for_humans(url),
                    failure.reason,
                )
                if attempt < self.download_attempts:
                    self._sleep(self.retry.backoff(attempt, self._rng))
                continue
            except BaseException:
                spool.close()
                raise
            return SpooledBytes(spool, chunk_size)
        raise CustomerIoDownloadError(
            f"Customer.io export {export_id} could not be downloaded completely after "
            f"{self.download_attempts} attempts (each with a fresh URL); reasons: {'; '.join(reasons)}",
            endpoint=endpoint,
        )

    def _fetch_into(self, url: str, sink: IO[bytes], chunk_size: int) -> None:
        """Download ``url`` (no API key: it is a pre-signed URL) and write the decompressed bytes to ``sink``."""
        try:
            response = self._session.get(url, stream=True, timeout=self.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise _DownloadAttemptFailed(f"{type(exc).__name__} while connecting") from None
        with response:
            status = response.status_code
            if status in (400, 401, 403, 404, 410):
                raise _DownloadAttemptFailed(f"signed URL refused with {status} (expired?)")
            if status == 429 or status >= 500:
                raise _DownloadAttemptFailed(f"storage answered {status}")
            if status != 200:
                raise CustomerIoDownloadError(
                    f"Customer.io export download answered unexpected status {status}",
                    endpoint="GET <signed export url>",
                    status=status,
                )
            length_header = response.headers.get("Content-Length")
            expected = int(length_header) if length_header and length_header.isdigit() else None
            received = 0
            inflater: _GzipInflater | None = None
            first = True
            try:
                for chunk in response.raw.stream(chunk_size, decode_content=False):
                    if not chunk:
                        continue
                    received += len(chunk)
                    if first:
                        first = False
                        if chunk[:2] == GZIP_MAGIC:
                            inflater = _GzipInflater()
                    sink.write(inflater.feed(chunk) if inflater else chunk)
            except zlib.error:
                raise _DownloadAttemptFailed("corrupt gzip stream") from None
            except Exception as exc:  # requests, urllib3 (ProtocolError, IncompleteRead), socket errors
                raise _DownloadAttemptFailed(f"{type(exc).__name__} after {received} bytes") from None
            if expected is not None and received != expected:
                raise _DownloadAttemptFailed(f"truncated: {received} of {expected} bytes")
            if inflater is not None and not inflater.complete:
                raise _DownloadAttemptFailed(f"gzip stream ended early after {received} bytes")


class _GzipInflater:
    """Streaming gunzip that also handles concatenated gzip members and reports whether the stream ended."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.complete = False

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            out.append(self._d.decompress(data))
            if self._d.eof:
                data = self._d.unused_data
                self.complete = True
                if data:
                    self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    self.complete = False
            else:
                data = b""
        return b"".join(out)
