"""The ASGI receiver: verify, bound, dedupe, make durable, then answer 2xx.

``POST {pipelines_path}`` (when a Data Pipelines secret is set): the same for the Data Pipelines Webhook destination's
track/identify calls (``webhooks/pipelines.py``). ``POST {path}``: 200 once every event of the body is in the journal (fsync'd), including events held already
(counted as duplicates: Customer.io re-sends an event whose ack it lost); 401 for a forged, stale or replayed
signature; 413 past the size limit; 400 for a signed body that is not a Reporting Webhook event; 503 when the
journal cannot write (Customer.io retries). ``GET /_status``: the counts (refusals by reason, accepted, duplicates,
flushes) as JSON. ``GET /healthz``. No log line ever carries a body, a header value or the key.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.webhooks import pipelines
from airflow_provider_cio.webhooks.events import MalformedEvent, parse_events
from airflow_provider_cio.webhooks.flusher import Flusher
from airflow_provider_cio.webhooks.journal import Journal, JournalError
from airflow_provider_cio.webhooks.settings import ReceiverSettings
from airflow_provider_cio.webhooks.signature import Verdict, verify

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from airflow_provider_cio.storage.base import ObjectStore

log = logging.getLogger(__name__)

REFUSALS = ("forged", "replayed", "stale", "oversized", "malformed")
_LOG_EVERY_SECONDS = 10.0


class _TooLarge(Exception):
    pass


class Receiver:
    """State shared by the requests: counts, the replay cache, the journal and the flusher."""

    def __init__(
        self, settings: ReceiverSettings, store: ObjectStore, *, clock: Callable[[], float] = time.time
    ):
        self.settings = settings
        self.clock = clock
        self.journal = Journal(settings.journal_dir)
        self.flusher = Flusher(
            self.journal,
            store,
            root=settings.landing_root,
            env=settings.env,
            workspace=settings.workspace,
            interval=settings.flush_interval,
            retention_hours=settings.retention_hours,
            clock=lambda: datetime.fromtimestamp(self.clock(), UTC),
        )
        self.refused: Counter[str] = Counter({reason: 0 for reason in REFUSALS})
        self.accepted = 0
        self.duplicates = 0
        self.unavailable = 0
        self._seen_signatures: dict[
            str, float
        ] = {}  # signature -> when it goes stale (insertion order = time)
        self._lock = threading.Lock()
        self._logged_at: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def start(self) -> None:
        self.journal.open()
        self.flusher.start()

    def stop(self) -> None:
        self.flusher.stop(final_flush=True)
        self.journal.close()

    # -- the request ---------------------------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        settings = self.settings
        body = await self._bounded_body(request)
        if not isinstance(body, bytes):
            return body
        now = self.clock()
        timestamp = request.headers.get("x-cio-timestamp")
        signature = request.headers.get("x-cio-signature")
        verdict = verify(
            settings.signing_key, timestamp, signature, body, now=now, tolerance=settings.tolerance_seconds
        )
        if verdict is Verdict.FORGED:
            return self._refuse("forged", 401)
        if verdict is Verdict.MALFORMED:
            return self._refuse("malformed", 400)
        if verdict is Verdict.STALE:
            return self._refuse("stale", 401)
        assert signature is not None
        if settings.refuse_replayed_signatures and self._replayed(signature.strip().lower(), now):
            return self._refuse("replayed", 401)
        try:
            rows = parse_events(body, received_at_us=int(now * 1_000_000))
        except MalformedEvent as exc:
            return self._refuse("malformed", 400, detail=str(exc))
        return await self._make_durable(rows, signature.strip().lower(), now)

    async def handle_pipelines(self, request: Request) -> Response:
        """A Data Pipelines Webhook destination call: ``X-Signature`` (hex HMAC-SHA1 of the body, no timestamp:
        nothing goes stale, ``messageId`` dedupes a replay), same size limit, journal and answers."""
        settings = self.settings
        body = await self._bounded_body(request)
        if not isinstance(body, bytes):
            return body
        if not pipelines.verify(
            settings.pipelines_secret, request.headers.get(pipelines.SIGNATURE_HEADER), body
        ):
            return self._refuse("forged", 401)
        now = self.clock()
        try:
            rows = pipelines.parse_calls(body, received_at_us=int(now * 1_000_000))
        except MalformedEvent as exc:
            return self._refuse("malformed", 400, detail=str(exc))
        return await self._make_durable(rows, None, now)

    async def _bounded_body(self, request: Request) -> bytes | Response:
        """The raw body, or the refusal of one that is (or says it is) over ``max_body_bytes``."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return self._refuse(
                "oversized" if declared.isdigit() else "malformed", 413 if declared.isdigit() else 400
            )
        try:
            return await _read_bounded(request, limit)
        except _TooLarge:
            return self._refuse("oversized", 413)

    async def _make_durable(self, rows: list[dict[str, Any]], signature: str | None, now: float) -> Response:
        """200 only once the fsync is done; 503 (the sender retries) when the journal cannot write."""
        from starlette.responses import JSONResponse

        submitted = self.journal.submit(rows)
        try:
            await asyncio.wrap_future(submitted.durable)
        except JournalError as exc:
            with self._lock:
                self.unavailable += 1
            log.error("%s; answered 503 so Customer.io retries", exc)
            return JSONResponse({"error": "the events could not be made durable; retry"}, status_code=503)
        with self._lock:
            self.accepted += submitted.new
            self.duplicates += submitted.duplicates
            if signature is not None and self.settings.refuse_replayed_signatures:
                self._remember(signature, now)
        return JSONResponse({"accepted": submitted.new, "duplicates": submitted.duplicates})

    def _replayed(self, signature: str, now: float) -> bool:
        with self._lock:
            while self._seen_signatures:  # drop the stale ones (oldest first)
                oldest = next(iter(self._seen_signatures))
                if self._seen_signatures[oldest] > now:
                    break
                del self._seen_signatures[oldest]
            return signature in self._seen_signatures

    def _remember(self, signature: str, now: float) -> None:
        self._seen_signatures[signature] = now + 2 * self.settings.tolerance_seconds

    def _refuse(self, reason: str, status: int, *, detail: str | None = None) -> Response:
        """Count it; log at most one line per reason every 10 s (a flood must not flood the logs): the reason and
        counts only, never the body, a header value or the key."""
        from starlette.responses import JSONResponse

        with self._lock:
            self.refused[reason] += 1
            self._unlogged[reason] += 1
            now = time.monotonic()
            if now - self._logged_at.get(reason, -_LOG_EVERY_SECONDS) >= _LOG_EVERY_SECONDS:
                count, self._unlogged[reason] = self._unlogged[reason], 0
                self._logged_at[reason] = now
                log.warning(
                    "refused %d %s webhook request(s) with %d%s (%d refused as %s since start)",
                    count,
                    reason,
                    status,
                    f" ({detail})" if detail else "",
                    self.refused[reason],
                    reason,
                )
        return JSONResponse({"refused": reason}, status_code=status)

    def status(self) -> dict[str, Any]:
        stats = self.flusher.stats
        with self._lock:
            return {
                "accepted": self.accepted,
                "duplicates": self.duplicates,
                "unavailable": self.unavailable,
                "refused": dict(self.refused),
                "journal": {"events": self.journal.records(), "hours": sorted(self.journal.hours())},
                "flush": {
                    "interval_seconds": self.flusher.interval,
                    "commits": stats.commits,
                    "failures": stats.failures,
                    "landed_events": stats.landed_events,
                    "last_commit_at": stats.last_commit_at,
                    "last_failure": stats.last_failure,
                    "pending_hours": self.flusher.pending_hours(),
                },
            }


async def _read_bounded(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    settings: ReceiverSettings, store: ObjectStore, *, clock: Callable[[], float] = time.time
) -> Starlette:
    """The ASGI app; the journal opens and the flusher starts with the app's lifespan."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    receiver = Receiver(settings, store, clock=clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        receiver.start()
        try:
            yield
        finally:
            receiver.stop()

    async def receive(request: Request) -> Response:
        return await receiver.handle(request)

    async def receive_pipelines(request: Request) -> Response:
        return await receiver.handle_pipelines(request)

    async def status(request: Request) -> Response:
        return JSONResponse(receiver.status())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route(settings.path, receive, methods=["POST"]),
            # only with its own secret: an unsigned route would take anyone's calls
            *(
                [Route(settings.pipelines_path, receive_pipelines, methods=["POST"])]
                if settings.pipelines_secret
                else []
            ),
            Route("/_status", status, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.receiver = receiver
    return app
