"""A local Customer.io App API over a synthetic workspace (stdlib HTTP server, no extra dependencies).

Speaks the documented wire format: bearer auth, asynchronous exports with signed, expiring download URLs, cursor
pagination (``start``/``limit``/``next``), and a 10 req/s limit answered with 429, ``{"errors":[...]}`` and
``Retry-After``. The documented rules (export ranges and their defaults, metric values, the filter language) live in
``rules.py`` with the pages they come from; what the docs leave open is a ``Readings`` setting. The emulator's
"now" is the end of the synthetic workspace's activity unless ``now`` is given. It records every request it served (method, path, query, status, arrival time; never headers or
signatures) and injects faults on demand through ``emulator.faults`` or ``POST /_admin/faults``.

Admin API (loopback, no auth): ``POST /_admin/faults`` (JSON ``{"kind", "count", ...params}``),
``DELETE /_admin/faults``, ``GET /_admin/requests``, ``POST /_admin/reset``.
"""

from __future__ import annotations

import base64
import gzip
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cio_devkit.emulators.customerio import rules
from cio_devkit.emulators.customerio.faults import REQUEST_FAULTS, FaultInjector
from cio_devkit.emulators.customerio.rules import Readings, RuleViolation
from cio_devkit.emulators.customerio.webhooks import ReportingWebhookSender
from cio_devkit.emulators.http_server import EmulatorHTTPServer
from cio_devkit.emulators.synthetic import (
    SEGMENTS,
    SyntheticWorkspace,
    iter_customers_csv,
    iter_deliveries_csv,
    segment_mask,
)

log = logging.getLogger(__name__)

MESSAGES_MAX_LIMIT = rules.MESSAGES_MAX_LIMIT
MEMBERSHIP_MAX_LIMIT = 30000
ACTIVITIES_MAX_LIMIT = 1000
DELIVERY_PARENTS = rules.DELIVERY_PARENTS
# The synthetic deliveries carry a time for these metrics; the other documented metrics (rules.EXPORT_METRICS) never
# happen in the synthetic workspace, so a filter on them matches nothing.
_METRIC_COLUMNS = {
    "created": "created_at",
    "sent": "sent_at",
    "delivered": "delivered_at",
    "opened": "opened_at",
    "clicked": "clicked_at",
    "converted": "converted_at",
    "bounced": "bounced_at",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator answered; ``at`` is its arrival on the server's monotonic clock."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    at: float


@dataclass
class _Export:
    id: int
    type: str
    created_at: int
    polls_left: int
    fail: bool
    payload: bytes
    total: int
    ready_at: float = 0.0
    downloads: int = 0
    status: str = "pending"
    gz: bytes | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "failed": self.status == "failed",
            # "The number of entries in the export. Exports report 0 until done." ("Get an export",
            # https://docs.customer.io/integrations/api/app/tag/exports/getExport/)
            "total": self.total if self.status == "done" else 0,
            "downloads": self.downloads,
            "created_at": self.created_at,
            "updated_at": (updated := int(time.time())),
            "description": f"{self.type} export",
            # documented fields of an export ("Get an export"): the user who created it (an API key here, so no
            # user), and ``id:timestamp`` of its last update
            "user_id": 0,
            "user_email": None,
            "deduplicate_id": f"{self.id}:{updated}",
        }


class _ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class _Bucket:
    """Non-blocking server-side token bucket: the limiter Customer.io applies per workspace key."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        return max(0, int(text[2:]))
    except ValueError:
        raise _ApiError(400, "invalid start cursor") from None


class CustomerIoEmulator:
    """Start/stop an App API emulator on loopback; inspect ``requests`` and arm ``faults`` from tests."""

    def __init__(
        self,
        workspace: SyntheticWorkspace,
        api_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rate_limit: float | None = rules.RATE_LIMIT_PER_S,
        rate_burst: int = 10,
        pending_polls: int = 1,
        pending_seconds: float = 0.0,
        url_ttl: float = rules.DOWNLOAD_URL_TTL_S,
        gzip_downloads: bool = False,
        time_format: str = "iso",
        now: int | None = None,
        readings: Readings | None = None,
        unknown_fields: bool = False,
    ) -> None:
        self.workspace = workspace
        self._api_key = api_key
        self._host, self._port = host, port
        # an export stays pending for ``pending_polls`` polls and at least ``pending_seconds`` (accepted now,
        # done later), like Customer.io's asynchronous exports
        self.pending_polls = pending_polls
        self.pending_seconds = pending_seconds
        self.now = int(workspace.end_at.timestamp()) if now is None else int(now)
        self.readings = readings or Readings()
        # "We may add to these APIs ... Build your integration to ignore fields it doesn't recognize" ("App API",
        # https://docs.customer.io/integrations/api/app/): answers then carry a field no client knows yet
        self.unknown_fields = unknown_fields
        self.url_ttl = url_ttl
        self.gzip_downloads = gzip_downloads
        self.time_format = time_format
        self.faults = FaultInjector()
        self._bucket = _Bucket(rate_limit, rate_burst) if rate_limit else None
        self._requests: list[RecordedRequest] = []
        self._exports: dict[int, _Export] = {}
        self._signed: dict[str, tuple[int, float]] = {}
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._webhook_senders: list[ReportingWebhookSender] = []
        self._webhook_queued = 0
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> CustomerIoEmulator:
        server = EmulatorHTTPServer((self._host, self._port), _Handler)
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="cio-emulator", daemon=True
        )
        self._thread.start()
        log.info("Customer.io emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for sender in self._webhook_senders:
            sender.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> CustomerIoEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget recorded requests, exports and armed faults (the workspace stays)."""
        with self._lock:
            self._requests.clear()
            self._exports.clear()
            self._signed.clear()
        self.faults.clear()

    # ------------------------------------------------------------------ reporting webhooks

    def post_webhooks(
        self,
        url: str,
        signing_key: bytes,
        *,
        start: str | None = None,
        end: str | None = None,
        readings: dict[str, Any] | None = None,
    ) -> ReportingWebhookSender:
        """Post the workspace's message activity in ``[start, end)`` (ISO times) to ``url``, signed, in order."""
        from datetime import datetime

        from cio_devkit.emulators.customerio.webhooks import WebhookReadings, reporting_events

        events = reporting_events(
            self.workspace,
            datetime.fromisoformat(start) if start else None,
            datetime.fromisoformat(end) if end else None,
        )
        sender = ReportingWebhookSender(url, signing_key, WebhookReadings(**(readings or {}))).start()
        sender.send(events)
        self._webhook_senders.append(sender)
        self._webhook_queued = len(events)
        return sender

    def webhook_status(self) -> dict[str, Any]:
        """Per sender: attempts, acknowledged and expired counts, failures by kind (no event content)."""
        return {
            "senders": [
                {
                    "url": sender.url,
                    "idle": sender.idle(),
                    "attempts": sender.stats.attempts,
                    "acknowledged": len(sender.stats.acknowledged),
                    "expired": len(sender.stats.expired),
                    "failures": dict(sender.stats.failures),
                }
                for sender in self._webhook_senders
            ]
        }

    # ------------------------------------------------------------------ request plumbing

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrival = time.monotonic()
        parts = urlsplit(handler.path)
        path, query = parts.path, parse_qs(parts.query)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if path.startswith("/_signed/"):
            # recorded before the body goes out, so a client that has its answer always finds the record
            self._serve_signed(
                handler, path, query, lambda status: self._record(method, path, {}, status, arrival)
            )
            return
        headers: dict[str, str] = {}
        try:
            if path.startswith("/_admin/"):
                status, payload = self._admin(method, path, body)
            else:
                status, payload, headers = self._api(
                    method, path, query, body, handler.headers.get("Authorization")
                )
        except _ApiError as err:
            status, headers = err.status, err.headers
            payload = {"errors": [{"detail": err.detail, "status": str(err.status)}]}
        except RuleViolation as err:
            status, payload = 400, {"errors": [{"detail": str(err), "status": "400"}]}
        except Exception:
            log.exception("Customer.io emulator failed on %s %s", method, path)
            status, payload = 500, {"errors": [{"detail": "internal emulator error", "status": "500"}]}
        if self.unknown_fields and status == 200 and not path.startswith("/_admin/"):
            payload = _with_unknown_fields(payload)
        data = json.dumps(payload).encode("utf-8")
        if not path.startswith("/_admin/"):
            self._record(method, path, query, status, arrival)
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _record(self, method: str, path: str, query: dict[str, list[str]], status: int, at: float) -> None:
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, status, at))

    def _admin(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path == "/_admin/faults" and method == "POST":
            spec = json.loads(body or b"{}")
            kind = spec.pop("kind", None)
            count = int(spec.pop("count", 1))
            prefix = spec.pop("path_prefix", "/v1/")
            try:
                self.faults.inject(str(kind), count, path_prefix=prefix, **spec)
            except ValueError as err:
                raise _ApiError(400, str(err)) from None
            return 200, {"armed": self.faults.armed()}
        if path == "/_admin/faults" and method == "DELETE":
            self.faults.clear()
            return 200, {"armed": []}
        if path == "/_admin/faults" and method == "GET":
            return 200, {"armed": self.faults.armed()}
        if path == "/_admin/requests" and method == "GET":
            return 200, {"requests": [r.__dict__ for r in self.requests]}
        if path == "/_admin/webhooks" and method == "POST":
            # start posting the workspace's activity as signed Reporting Webhooks (emulators/customerio/webhooks.py)
            spec = json.loads(body or b"{}")
            try:
                sender = self.post_webhooks(
                    str(spec["url"]),
                    str(spec["signing_key"]).encode(),
                    start=spec.get("start"),
                    end=spec.get("end"),
                    readings=spec.get("readings") or {},
                )
            except (KeyError, TypeError, ValueError) as err:
                raise _ApiError(400, f"webhooks: {type(err).__name__} {err}") from None
            return 200, {"queued": self._webhook_queued, "url": sender.url}
        if path == "/_admin/webhooks" and method == "GET":
            return 200, self.webhook_status()
        if path == "/_admin/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}
        raise _ApiError(404, f"no admin route {method} {path}")

    def _api(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, auth: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        expected = f"Bearer {self._api_key}"
        if not auth or not hmac.compare_digest(auth.encode("utf-8"), expected.encode("utf-8")):
            raise _ApiError(401, "Unauthorized request")
        fault = self.faults.take(REQUEST_FAULTS, path)
        if fault is not None:
            if fault.kind == "rate_limit":
                retry_after = fault.params.get("retry_after", 1)
                headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
                raise _ApiError(429, "Too many requests: rate limit exceeded", headers)
            if fault.kind == "server_error":
                raise _ApiError(int(fault.params.get("status", 503)), "service unavailable")
            if fault.kind == "slow":
                self._stopping.wait(float(fault.params.get("delay", 5.0)))
        if self._bucket is not None and not self._bucket.try_take():
            raise _ApiError(429, "Too many requests: rate limit exceeded", {"Retry-After": "1"})
        for route_method, pattern, handler in self._routes():
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return 200, handler(query, body, *match.groups()), {}
        raise _ApiError(404, f"no route {method} {path}")

    def _routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Any]]]:
        return [
            ("GET", re.compile(r"/v1/workspaces"), self._workspaces),
            ("GET", re.compile(r"/v1/campaigns"), self._campaigns),
            ("GET", re.compile(r"/v1/newsletters"), self._newsletters),
            ("GET", re.compile(r"/v1/segments"), self._segments),
            ("GET", re.compile(r"/v1/segments/(\d+)/membership"), self._membership),
            ("GET", re.compile(r"/v1/messages"), self._messages),
            ("GET", re.compile(r"/v1/activities"), self._activities),
            ("GET", re.compile(r"/v1/exports"), self._list_exports),
            ("POST", re.compile(r"/v1/exports/customers"), self._create_customers_export),
            ("POST", re.compile(r"/v1/exports/deliveries"), self._create_deliveries_export),
            ("GET", re.compile(r"/v1/exports/(\d+)"), self._get_export),
            ("GET", re.compile(r"/v1/exports/(\d+)/download"), self._download_link),
        ]

    # ------------------------------------------------------------------ helpers

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return value

    @staticmethod
    def _one(query: dict[str, list[str]], name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    def _int(self, query: dict[str, list[str]], name: str) -> int | None:
        value = self._one(query, name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise _ApiError(400, f"{name} must be an integer") from None

    def _limit(self, query: dict[str, list[str]], default: int, maximum: int) -> int:
        limit = self._int(query, "limit")
        limit = default if limit is None else limit
        if not 1 <= limit <= maximum:
            raise _ApiError(400, f"limit must be between 1 and {maximum}")
        return limit

    def _identifiers(self, customer_ids: Any) -> list[dict[str, Any]]:
        import pyarrow.compute as pc

        people = self.workspace.people
        idx = pc.index_in(customer_ids, people["customer_id"])
        rows = people.select(["customer_id", "email", "cio_id"]).take(idx).to_pylist()
        return [{"id": r["customer_id"], "email": r["email"], "cio_id": r["cio_id"]} for r in rows]

    @staticmethod
    def _page(indices: Any, offset: int, limit: int) -> tuple[Any, str]:
        page = indices[offset : offset + limit]
        more = offset + limit < len(indices)
        return page, _encode_cursor(offset + limit) if more else ""

    # ------------------------------------------------------------------ routes: small listings

    def _workspaces(self, query: dict[str, list[str]], body: bytes) -> Any:
        ws = self.workspace
        return {
            "workspaces": [
                {
                    "id": str(ws.workspace_id),
                    "name": "Synthetic workspace",
                    "messages_sent": ws.deliveries.num_rows,
                    "billable_messages_sent": ws.deliveries.num_rows,
                    "people": ws.people.num_rows,
                    "object_types": 0,
                    "objects": 0,
                }
            ]
        }

    def _campaigns(self, query: dict[str, list[str]], body: bytes) -> Any:
        ws = self.workspace
        actions = ws.actions.to_pylist()
        campaigns = []
        for row in ws.campaigns.to_pylist():
            if row["type"] == "newsletter":
                continue
            campaigns.append(
                {
                    "id": row["id"],
                    "name": row["name"],
                    "type": "segment" if row["type"] != "cart_abandonment" else "event",
                    "tags": [row["type"]],
                    "state": "running",
                    "actions": [
                        {"id": a["id"], "type": a["type"]} for a in actions if a["campaign_id"] == row["id"]
                    ],
                }
            )
        return {"campaigns": campaigns}

    def _newsletters(self, query: dict[str, list[str]], body: bytes) -> Any:
        rows = [r for r in self.workspace.campaigns.to_pylist() if r["type"] == "newsletter"]
        return {
            "newsletters": [{"id": r["id"], "name": r["name"], "type": "email"} for r in rows],
            "next": "",
        }

    def _segments(self, query: dict[str, list[str]], body: bytes) -> Any:
        return {"segments": [{"id": sid, "name": name, "type": "dynamic"} for sid, name in SEGMENTS]}

    # ------------------------------------------------------------------ routes: paginated listings

    def _membership(self, query: dict[str, list[str]], body: bytes, segment: str) -> Any:
        import numpy as np

        segment_id = int(segment)
        if segment_id not in {sid for sid, _ in SEGMENTS}:
            raise _ApiError(404, f"segment {segment_id} not found")
        limit = self._limit(query, 1000, MEMBERSHIP_MAX_LIMIT)
        offset = _decode_cursor(self._one(query, "start"))

        def members() -> Any:
            mask = segment_mask(self.workspace, segment_id)
            return np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False)))

        indices = self._cached(("segment", segment_id), members)
        page, cursor = self._page(indices, offset, limit)
        people = self.workspace.people.take(page).select(["customer_id", "email", "cio_id"]).to_pylist()
        identifiers = [{"id": p["customer_id"], "email": p["email"], "cio_id": p["cio_id"]} for p in people]
        return {"identifiers": identifiers, "ids": [p["customer_id"] for p in people], "next": cursor}

    def _messages(self, query: dict[str, list[str]], body: bytes) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        limit = self._limit(query, 50, MESSAGES_MAX_LIMIT)
        offset = _decode_cursor(self._one(query, "start"))
        metric = self._one(query, "metric")
        if metric is not None and metric not in rules.MESSAGE_METRICS:
            raise _ApiError(400, f"unknown metric {metric!r}")
        window = rules.messages_window(
            self._int(query, "start_ts"), self._int(query, "end_ts"), self.now, self.readings
        )
        filters = (
            self._int(query, "campaign_id"),
            self._int(query, "newsletter_id"),
            self._int(query, "action_id"),
            metric,
            self._one(query, "type"),
            *window,
        )

        def matching() -> Any:
            d = self.workspace.deliveries
            mask = pa.array(np.ones(d.num_rows, dtype=bool))
            for column, value in zip(("campaign_id", "newsletter_id", "action_id"), filters[:3], strict=True):
                if value is not None:
                    mask = pc.and_(mask, pc.fill_null(pc.equal(d[column], value), False))
            if metric is not None:
                mask = _with_metric(mask, d, metric)
            if filters[4] is not None:
                mask = pc.and_(mask, pc.equal(d["delivery_type"], filters[4]))
            seconds = pc.divide(pc.cast(d["created_at"], pa.int64()), 1_000_000)
            mask = pc.and_(mask, pc.greater_equal(seconds, filters[5]))
            mask = pc.and_(mask, pc.less(seconds, filters[6]))
            return np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False)))

        indices = self._cached(("messages", *filters), matching)
        page, cursor = self._page(indices, offset, limit)
        rows = self.workspace.deliveries.take(page)
        identifiers = self._identifiers(rows["customer_id"])
        messages = []
        for row, ident in zip(rows.to_pylist(), identifiers, strict=True):
            metrics = {
                name: int(row[col].timestamp())
                for name, col in _METRIC_COLUMNS.items()
                if row[col] is not None
            }
            messages.append(
                {
                    "id": row["delivery_id"],
                    "customer_id": row["customer_id"],
                    "customer_identifiers": ident,
                    "created": int(row["created_at"].timestamp()),
                    "type": row["delivery_type"],
                    "campaign_id": row["campaign_id"],
                    "action_id": row["action_id"],
                    "newsletter_id": row["newsletter_id"],
                    "content_id": None,
                    "broadcast_id": None,
                    "metrics": metrics,
                    "failure_message": None,
                }
            )
        return {"messages": messages, "next": cursor}

    def _activities(self, query: dict[str, list[str]], body: bytes) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        limit = self._limit(query, 100, ACTIVITIES_MAX_LIMIT)
        offset = _decode_cursor(self._one(query, "start"))
        customer_id, kind, name = (
            self._one(query, "customer_id"),
            self._one(query, "type"),
            self._one(query, "name"),
        )

        def matching() -> Any:
            e = self.workspace.events
            if kind not in (None, "event"):
                return np.zeros(0, dtype=np.int64)
            mask = pa.array(np.ones(e.num_rows, dtype=bool))
            if customer_id is not None:
                mask = pc.and_(mask, pc.equal(e["customer_id"], customer_id))
            if name is not None:
                mask = pc.and_(mask, pc.equal(e["name"], name))
            return np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False)))

        indices = self._cached(("activities", customer_id, kind, name), matching)
        page, cursor = self._page(indices, offset, limit)
        rows = self.workspace.events.take(page)
        identifiers = self._identifiers(rows["customer_id"])
        activities = [
            {
                "id": row["event_id"],
                "customer_id": row["customer_id"],
                "customer_identifiers": ident,
                "type": "event",
                "name": row["name"],
                "timestamp": int(row["timestamp"].timestamp()),
                "data": {"product_id": row["product_id"], "cart_id": row["cart_id"], "value": row["value"]},
                "delivery_id": None,
            }
            for row, ident in zip(rows.to_pylist(), identifiers, strict=True)
        ]
        return {"activities": activities, "next": cursor}

    # ------------------------------------------------------------------ routes: exports

    def _list_exports(self, query: dict[str, list[str]], body: bytes) -> Any:
        with self._lock:
            exports = [e.as_json() for e in self._exports.values()]
        return {"exports": exports or None}

    def _json_body(self, body: bytes) -> dict[str, Any]:
        try:
            parsed = json.loads(body or b"{}")
        except json.JSONDecodeError:
            raise _ApiError(400, "request body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise _ApiError(400, "request body must be a JSON object")
        return parsed

    def _create_customers_export(self, query: dict[str, list[str]], body: bytes) -> Any:
        import pyarrow as pa

        spec = self._json_body(body)
        # "filters: required" ("Export customer data", .../tag/exports/exportPeopleData/)
        if "filters" not in spec:
            raise _ApiError(400, "filters is required")
        filters = spec["filters"]
        rules.check_filter(filters, self.readings)
        mask = self._filter_mask(filters)
        people = self.workspace.people.filter(pa.array(mask))
        attributes = [str(a) for a in spec.get("attributes") or []]
        payload = b"".join(iter_customers_csv(people, attributes))
        return {"export": self._new_export("customers", payload, people.num_rows)}

    def _filter_mask(self, node: dict[str, Any]) -> Any:
        """The people a checked filter selects; an object with several keys is the AND of them (see ``Readings``)."""
        import numpy as np

        masks = [self._filter_key_mask(key, value) for key, value in node.items()]
        return np.logical_and.reduce(masks)

    def _filter_key_mask(self, key: str, value: Any) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        people = self.workspace.people
        if key in ("and", "or"):
            masks = [self._filter_mask(child) for child in value]
            return np.logical_and.reduce(masks) if key == "and" else np.logical_or.reduce(masks)
        if key == "not":
            return ~self._filter_mask(value)
        if key == "segment":
            try:
                mask = segment_mask(self.workspace, int(value["id"]))
            except KeyError:
                raise _ApiError(400, "segment filter needs the id of an existing segment") from None
            return np.asarray(mask.to_numpy(zero_copy_only=False))
        # attribute: "exists returns results if a person in the audience has the attribute; eq returns results if
        # the audience has the attribute and the attribute has the value you specify" (.../exportPeopleData/)
        field_name = str(value["field"])
        column = {"id": "customer_id"}.get(field_name, field_name)
        if column not in people.column_names:
            return np.zeros(people.num_rows, dtype=bool)
        text = people[column].cast(pa.string())
        if value["operator"] == "exists":
            condition = pc.and_(pc.is_valid(text), pc.not_equal(pc.fill_null(text, ""), ""))
        else:
            wanted = value["value"]
            # the docs' own example compares ``unsubscribed`` with the JSON boolean true
            wanted = str(wanted).lower() if isinstance(wanted, bool) else str(wanted)
            condition = pc.equal(text, wanted)
        return np.asarray(pc.fill_null(condition, False).to_numpy(zero_copy_only=False))

    def _create_deliveries_export(self, query: dict[str, list[str]], body: bytes) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        spec = self._json_body(body)
        parent, parent_id = rules.deliveries_export_parent(spec)
        metric = rules.export_metric(spec)
        start, end = (self._unix(spec, "start"), self._unix(spec, "end"))
        window = rules.export_window(start, end, self.now, self.readings)
        d = self.workspace.deliveries
        if parent == "transactional_message_id":  # the synthetic workspace sends no transactional messages
            mask = pa.array([False] * d.num_rows)
        else:
            mask = pc.fill_null(pc.equal(d[parent], parent_id), False)
        seconds = pc.divide(pc.cast(d["created_at"], pa.int64()), 1_000_000)
        mask = pc.and_(mask, pc.greater_equal(seconds, window[0]))
        mask = pc.and_(mask, pc.less(seconds, window[1]))
        if metric is not None:
            mask = _with_metric(mask, d, metric)
        rows = d.filter(mask)
        attributes = [str(a) for a in spec.get("attributes") or []]
        payload = b"".join(
            iter_deliveries_csv(
                deliveries=rows,
                time_format=self.time_format,
                attributes=attributes,
                people=self.workspace.people,
            )
        )
        return {"export": self._new_export("deliveries", payload, rows.num_rows)}

    @staticmethod
    def _unix(spec: dict[str, Any], name: str) -> int | None:
        value = spec.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _ApiError(400, f"{name} must be a unix timestamp (integer seconds)")
        return value

    def _new_export(self, kind: str, payload: bytes, total: int) -> dict[str, Any]:
        malformed = self.faults.take(("malformed_rows",))
        if malformed is not None:
            payload = _with_malformed_rows(payload, int(malformed.params.get("rows", 1)))
        dropped = self.faults.take(("drop_column",))
        if dropped is not None:
            payload = _without_column(payload, str(dropped.params["column"]))
        failed = self.faults.take(("export_failed",)) is not None
        with self._lock:
            export_id = len(self._exports) + 1
            export = _Export(
                export_id,
                kind,
                int(time.time()),
                self.pending_polls,
                failed,
                payload,
                total,
                ready_at=time.monotonic() + self.pending_seconds,
            )
            if export.polls_left <= 0 and self.pending_seconds <= 0:
                export.status = "failed" if failed else "done"
            self._exports[export_id] = export
            return export.as_json()

    def _export(self, export_id: str) -> _Export:
        export = self._exports.get(int(export_id))
        if export is None:
            raise _ApiError(404, f"export {export_id} not found")
        return export

    def _get_export(self, query: dict[str, list[str]], body: bytes, export_id: str) -> Any:
        with self._lock:
            export = self._export(export_id)
            if export.status == "pending":
                export.polls_left -= 1
                if export.polls_left < 0 and time.monotonic() >= export.ready_at:
                    export.status = "failed" if export.fail else "done"
            return {"export": export.as_json()}

    def _download_link(self, query: dict[str, list[str]], body: bytes, export_id: str) -> Any:
        expire_now = self.faults.take(("expire_url",)) is not None
        with self._lock:
            export = self._export(export_id)
            if export.status != "done":
                raise _ApiError(400, f"export {export_id} is {export.status}, not done")
            token = secrets.token_urlsafe(24)
            expires_at = time.monotonic() + (-1.0 if expire_now else self.url_ttl)
            self._signed[token] = (export.id, expires_at)
        suffix = ".csv.gz" if self.gzip_downloads else ".csv"
        return {
            "url": f"{self.url}/_signed/exports/{export.id}/export{suffix}"
            f"?X-Amz-Expires={int(self.url_ttl)}&X-Amz-Signature={token}"
        }

    def _serve_signed(
        self,
        handler: BaseHTTPRequestHandler,
        path: str,
        query: dict[str, list[str]],
        record: Callable[[int], None],
    ) -> None:
        token = (query.get("X-Amz-Signature") or [""])[0]
        with self._lock:
            entry = self._signed.get(token)
            export = self._exports.get(entry[0]) if entry else None
        if entry is None or export is None:
            record(403)
            _send_xml_error(handler, 403, "AccessDenied", "Invalid signature")
            return
        if time.monotonic() > entry[1]:
            record(403)
            _send_xml_error(handler, 403, "AccessDenied", "Request has expired")
            return
        if self.gzip_downloads:
            if export.gz is None:
                export.gz = gzip.compress(export.payload, mtime=0)
            data = export.gz
        else:
            data = export.payload
        truncate = self.faults.take(("truncate_download",))
        with self._lock:
            export.downloads += 0 if truncate else 1
        record(200)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/gzip" if self.gzip_downloads else "text/csv")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if truncate is not None:
            cut = int(len(data) * float(truncate.params.get("fraction", 0.5)))
            handler.wfile.write(data[:cut])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(data)


UNKNOWN_FIELD = "field_added_later"


def _with_unknown_fields(payload: Any) -> Any:
    """Add ``UNKNOWN_FIELD`` to the answer and to each object it holds one level down (not to data maps)."""
    if not isinstance(payload, dict):
        return payload
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, dict):
            value = {**value, UNKNOWN_FIELD: {"added": True}}
        elif isinstance(value, list):
            value = [{**v, UNKNOWN_FIELD: {"added": True}} if isinstance(v, dict) else v for v in value]
        out[key] = value
    out[UNKNOWN_FIELD] = [1, "two"]
    return out


def _with_metric(mask: Any, deliveries: Any, metric: str) -> Any:
    """Narrow ``mask`` to deliveries that reached ``metric`` (none, for a metric the synthetic data never has)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _METRIC_COLUMNS.get(metric)
    if column is None:
        return pa.array([False] * len(mask))
    return pc.and_(mask, pc.is_valid(deliveries[column]))


def _send_xml_error(handler: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
    body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _without_column(payload: bytes, column: str) -> bytes:
    """The CSV without one column (as if Customer.io stopped exporting it)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(payload.decode())))
    if not rows or column not in rows[0]:
        return payload
    index = rows[0].index(column)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(row[:index] + row[index + 1 :])
    return out.getvalue().encode()


def _with_malformed_rows(payload: bytes, rows: int) -> bytes:
    """Insert ``rows`` lines with a wrong column count, spread through the data."""
    lines = payload.split(b"\n")
    data_lines = max(1, len(lines) - 2)
    step = max(1, data_lines // (rows + 1))
    for k in range(rows, 0, -1):
        position = min(len(lines) - 1, 1 + k * step)
        lines.insert(position, b'"malformed-row",' + str(k).encode())
    return b"\n".join(lines)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cio-emulator/1"

    def _emulator(self) -> CustomerIoEmulator:
        return self.server.emulator  # type: ignore[attr-defined, no-any-return]

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._emulator()._serve(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self._emulator()._serve(self, "POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._emulator()._serve(self, "DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._emulator()._serve(self, "PUT")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # never the query string: signed download URLs carry their signature there
        log.debug("cio-emulator %s %s", self.command, urlsplit(self.path).path)
