"""Reporting Webhooks as Customer.io sends them: signed POSTs of the workspace's message activity, with the
documented timeout, backoff and backlog.

Written from Customer.io's own pages, never from our receiver (tests/architecture/test_import_rules.py):

- "Journeys Reporting Webhooks", https://docs.customer.io/api/webhooks/ (section "Timeouts and failures"):
  a 4 second timeout; no 2xx within it -> retried over seven days with exponential backoff; later calls are
  backlogged until the failing call succeeds or its seven days run out; on 400, 401, 402, 403, 404, 405, 410, 429,
  500, 502, 521 and on EOF / connection refused / connection reset / TLS failures it waits one hour before the retry.
- Same page, "Securely verifying requests": ``X-CIO-Timestamp`` and ``X-CIO-Signature``, the hex HMAC-SHA256 of
  ``v0:<timestamp>:<body>`` keyed by the webhook signing key.
- Same page, the event schemas: ``{event_id, object_type, metric, timestamp, data}``; ``data`` carries
  ``delivery_id``, ``identifiers {id, email, cio_id}``, ``recipient`` and the parent ids; ``href`` on clicks,
  ``failure_message`` on bounces.

Where the docs say nothing, the reading is a setting (``WebhookReadings``): the backoff's first delay and factor,
whether each attempt is signed anew (our reading: yes; a retry that kept its first timestamp would go stale under
any receiver's tolerance), and how many calls are in flight at once (the docs describe one backlog per webhook).
Delays are in seconds, so tests scale the hour and the seven days down.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cio_devkit.emulators.synthetic import SyntheticWorkspace

# docs.customer.io/api/webhooks/ "Timeouts and failures": these answers wait one hour before the retry
HOLD_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 410, 429, 500, 502, 521})


@dataclass(frozen=True)
class WebhookReadings:
    timeout_seconds: float = 4.0  # documented
    hold_seconds: float = 3600.0  # documented: "we'll wait for one hour before we retry"
    retry_period_seconds: float = 7 * 24 * 3600.0  # documented: "over a period of seven days"
    first_backoff_seconds: float = 30.0  # UNCONFIRMED: the docs name exponential backoff, not its base
    backoff_factor: float = 2.0  # UNCONFIRMED
    resign_each_attempt: bool = True  # UNCONFIRMED (see the module docstring)
    in_flight: int = 1  # UNCONFIRMED: concurrent calls per webhook


@dataclass
class SenderStats:
    attempts: int = 0
    acknowledged: list[str] = field(default_factory=list)  # event ids, in the order their 2xx arrived
    expired: list[str] = field(default_factory=list)  # retried for the whole retry period without a 2xx
    # per kind: "status 401", "timeout", "connection refused", ...
    failures: Counter[str] = field(default_factory=Counter)
    # what happened, in order: ("start" | "fail" | "ack" | "expire", event id); and each retry's scheduled delay
    log: list[tuple[str, str]] = field(default_factory=list)
    delays: list[tuple[str, float]] = field(default_factory=list)


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


def reporting_events(
    workspace: SyntheticWorkspace, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """The workspace's message activity in ``[start, end)`` as Reporting Webhook events, oldest first (personal
    data included, as Customer.io sends it: the receiver must drop it)."""
    import pyarrow.compute as pc

    metrics = workspace.metrics
    if start is not None:
        metrics = metrics.filter(pc.greater_equal(metrics["created_at"], start))
    if end is not None:
        metrics = metrics.filter(pc.less(metrics["created_at"], end))
    deliveries = {row["delivery_id"]: row for row in workspace.deliveries.to_pylist()}
    people = {
        row["customer_id"]: row
        for row in workspace.people.select(["customer_id", "email", "cio_id"]).to_pylist()
    }
    events = []
    for row in metrics.sort_by([("created_at", "ascending"), ("event_id", "ascending")]).to_pylist():
        delivery = deliveries.get(row["delivery_id"], {})
        person = people.get(row["customer_id"], {})
        data: dict[str, Any] = {
            "delivery_id": row["delivery_id"],
            "customer_id": row["customer_id"],
            "identifiers": {
                "id": row["customer_id"],
                "email": person.get("email"),
                "cio_id": person.get("cio_id"),
            },
            "recipient": person.get("email"),
        }
        for parent in ("campaign_id", "action_id", "newsletter_id"):
            if delivery.get(parent) is not None:
                data[parent] = delivery[parent]
        if row["link_url"]:
            data["href"] = row["link_url"]
        if row["reason"]:
            data["failure_message"] = row["reason"]
        events.append(
            {
                "event_id": row["event_id"],
                "object_type": delivery.get("delivery_type") or "email",
                "metric": row["metric"],
                "timestamp": int(row["created_at"].timestamp()),
                "data": data,
            }
        )
    return events


class ReportingWebhookSender:
    """Posts events to one webhook URL in order, like one Customer.io Reporting Webhook."""

    def __init__(
        self,
        url: str,
        signing_key: bytes,
        readings: WebhookReadings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.key = signing_key
        self.readings = readings or WebhookReadings()
        self._clock = clock
        parsed = urllib.parse.urlsplit(url)
        self._host, self._port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._path = parsed.path or "/"
        self._queue: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._failing = 0  # calls in retry: the backlog holds every later call
        self._busy = 0
        self._stop = False
        self._threads: list[threading.Thread] = []
        self.stats = SenderStats()

    def start(self) -> ReportingWebhookSender:
        for i in range(max(1, self.readings.in_flight)):
            thread = threading.Thread(target=self._work, name=f"cio-webhook-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.readings.timeout_seconds + 1)
        self._threads.clear()

    def send(self, events: Iterable[dict[str, Any]]) -> None:
        with self._cond:
            self._queue.extend(events)
            self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing queued and nothing in flight: every event acknowledged or expired."""
        with self._cond:
            return not self._queue and self._busy == 0

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    # -- workers -------------------------------------------------------------------------------------------------
    def _work(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while True:
            with self._cond:
                while not self._stop and (not self._queue or self._failing):
                    self._cond.wait(0.1)
                if self._stop:
                    break
                event = self._queue.popleft()
                self._busy += 1
                self.stats.log.append(("start", str(event.get("event_id"))))
            try:
                connection = self._deliver(event, connection)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()
        if connection is not None:
            connection.close()

    def _deliver(
        self, event: dict[str, Any], connection: http.client.HTTPConnection | None
    ) -> http.client.HTTPConnection | None:
        body = json.dumps(event, separators=(",", ":")).encode()
        first_at = self._clock()
        signed_at: str | None = None
        attempt = 0
        failing = False
        try:
            while True:
                if signed_at is None or self.readings.resign_each_attempt:
                    signed_at = str(int(self._clock()))
                outcome, connection = self._post(body, signed_at, connection)
                with self._cond:
                    self.stats.attempts += 1
                    if outcome is None:
                        self.stats.acknowledged.append(str(event.get("event_id")))
                        self.stats.log.append(("ack", str(event.get("event_id"))))
                        return connection
                    self.stats.failures[outcome] += 1
                    self.stats.log.append(("fail", str(event.get("event_id"))))
                    if not failing:
                        failing = True
                        self._failing += 1
                attempt += 1
                backoff = self.readings.first_backoff_seconds * self.readings.backoff_factor ** (attempt - 1)
                hold = outcome.startswith("status ") and int(outcome.split()[1]) in HOLD_STATUSES
                hold = hold or outcome in {"connection refused", "connection reset", "eof"}
                delay = max(backoff, self.readings.hold_seconds) if hold else backoff
                if self._clock() + delay - first_at > self.readings.retry_period_seconds:
                    with self._cond:
                        self.stats.expired.append(str(event.get("event_id")))
                        self.stats.log.append(("expire", str(event.get("event_id"))))
                    return connection
                with self._cond:
                    self.stats.delays.append((str(event.get("event_id")), delay))
                if self._sleep(delay):
                    return connection
        finally:
            if failing:
                with self._cond:
                    self._failing -= 1
                    self._cond.notify_all()

    def _sleep(self, seconds: float) -> bool:
        """Wait out a delay; True when the sender is stopping."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._stop:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _post(
        self, body: bytes, timestamp: str, connection: http.client.HTTPConnection | None
    ) -> tuple[str | None, http.client.HTTPConnection | None]:
        """One attempt: None on a 2xx within the timeout, else what went wrong (no body is ever kept)."""
        headers = {
            "Content-Type": "application/json",
            "X-CIO-Timestamp": timestamp,
            "X-CIO-Signature": sign(self.key, timestamp, body),
        }
        reused = connection is not None
        if connection is None:
            connection = http.client.HTTPConnection(
                self._host, self._port, timeout=self.readings.timeout_seconds
            )
        try:
            try:
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # a kept-alive connection the server closed while idle: any HTTP client opens a new one
                connection.close()
                connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.readings.timeout_seconds
                )
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
            response.read()
        except TimeoutError:
            connection.close()
            return "timeout", None
        except ConnectionRefusedError:
            connection.close()
            return "connection refused", None
        except (ConnectionResetError, BrokenPipeError):
            connection.close()
            return "connection reset", None
        except (http.client.HTTPException, OSError):
            connection.close()
            return "eof", None
        if response.will_close:
            connection.close()
            connection = None
        return (None if 200 <= response.status < 300 else f"status {response.status}"), connection
