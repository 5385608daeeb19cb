"""A local Meta Graph API for Custom Audiences, so facebook-business runs unchanged against it.

Enforces what the real endpoint enforces for this flow: a valid access token (else error 190), ``appsecret_proof``
when an app secret is configured, existing ad account and audiences, payload shape and SHA-256 hex values, at most
10,000 rows per request, session ordering, and ``usersreplace`` semantics. Request bodies are read from the query
string, form-encoded bodies and multipart bodies alike (the SDK sends DELETE params in the query; our destination
sends removals as a multipart body). The request log never holds tokens or identifier values.

Like Meta, it accepts edits at once and applies them later, each operation after its own delay, so adds and removals
can land in either order; replace sessions can expire or be interrupted; sizes are reported late and rounded
(``settings.MetaEmulatorSettings``, which also cites the docs each rule reads).

Admin API (no token): ``POST /_admin/faults`` (JSON ``{"kind", "times", "on", "code", "minutes", "status"}``,
``{"kind": "flag_audience", "audience_id"}`` or ``{"kind": "interrupt_replace", "audience_id"}``),
``DELETE /_admin/faults``, ``GET|POST /_admin/settings`` (delays and readings), ``GET /_admin/requests``,
``GET /_admin/audiences``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cio_devkit.emulators.http_server import EmulatorHTTPServer
from cio_devkit.emulators.meta.settings import MetaEmulatorSettings
from cio_devkit.emulators.meta.state import (
    FAULT_KINDS,
    FLAGGED_STATUS,
    Fault,
    GraphError,
    GraphState,
    not_found,
    payload_digest,
)

log = logging.getLogger(__name__)

_VERSION = re.compile(r"^v(\d+)\.(\d+)$")
_EDGE_OPERATION = {
    ("POST", "users"): "add",
    ("DELETE", "users"): "remove",
    ("POST", "usersreplace"): "replace",
}


class MetaGraphEmulator:
    """Start/stop a Graph emulator on 127.0.0.1; inspect ``requests`` and ``audience_members`` from tests."""

    def __init__(
        self,
        *,
        access_token: str,
        app_secret: str | None = None,
        ad_account_id: str = "act_1000",
        host: str = "127.0.0.1",
        port: int = 0,
        min_api_version: int = 22,
        settings: MetaEmulatorSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = GraphState(ad_account_id, settings, clock)
        self._token = access_token
        self._app_secret = app_secret
        self._host = host
        self._port = port
        self.min_api_version = min_api_version
        self.requests: list[dict[str, Any]] = []
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def ad_account_id(self) -> str:
        return self.state.account_id

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        return f"http://{host}:{port}"

    def start(self) -> MetaGraphEmulator:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = EmulatorHTTPServer((self._host, self._port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="meta-graph-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> MetaGraphEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers ---------------------------------------------------------------------------------------

    def inject(self, kind: str, *, times: int = 1, on: str = "edits", **options: Any) -> None:
        """Arm a fault (``throttle``, ``transient``, ``invalid_token``, ``permission``) for the next requests."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        with self.state.lock:
            self.state.faults.append(Fault(kind=kind, times=times, on=on, **options))

    def flag_audience(self, audience_id: str) -> None:
        """Mark an audience as flagged for sensitive categories: edits are then refused (100 / 1713230)."""
        with self.state.lock:
            self.state.audience(audience_id).operation_status = FLAGGED_STATUS

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def audience_ids(self) -> dict[str, str]:
        with self.state.lock:
            return {a.name: a.id for a in self.state.audiences.values()}

    def audience_members(self, audience_id: str) -> dict[str, dict[str, set[str]]]:
        """Members keyed ``x:<EXTERN_ID>`` (or ``h:<hash>``), each with its hashed values per schema key."""
        with self.state.lock:
            members = self.state.audience(audience_id).members
            return {k: {key: set(v) for key, v in person.items()} for k, person in members.items()}

    @property
    def settings(self) -> MetaEmulatorSettings:
        """The emulator's timing and readings; tests may change them while it runs (under ``state.lock``)."""
        return self.state.settings

    def configure(self, **changes: Any) -> None:
        """Change settings by name (validated like the constructor's)."""
        with self.state.lock:
            merged = {**self.state.settings.__dict__, **changes}
            self.state.settings = MetaEmulatorSettings(**merged)

    def pending_changes(self, audience_id: str | None = None) -> int:
        """Edits accepted but not applied yet (all audiences, or one)."""
        with self.state.lock:
            audiences = (
                [self.state.audience(audience_id)] if audience_id else list(self.state.audiences.values())
            )
            for audience in audiences:
                self.state.settle(audience)
            return sum(len(a.pending) for a in audiences)

    def wait_until_applied(self, timeout: float = 30.0, poll: float = 0.05) -> None:
        """Block until every accepted edit has been applied (the test's stand-in for "a day later")."""
        deadline = time.monotonic() + timeout
        while self.pending_changes():
            if time.monotonic() > deadline:
                raise TimeoutError(f"Meta emulator: edits still pending after {timeout}s")
            time.sleep(poll)

    def interrupt_replace(self, audience_id: str) -> int:
        """Drop the audience's open replace sessions (Meta's "interrupted" case): their next batch gets 2650."""
        with self.state.lock:
            return self.state.interrupt_replace(self.state.audience(audience_id))

    def removal_rows(self, audience_id: str) -> list[tuple[str | None, frozenset[str]]]:
        """Every removal row the audience received: (EXTERN_ID or None, its hashed values)."""
        with self.state.lock:
            return list(self.state.audiences[audience_id].removal_rows)

    def edit_requests(self, *, ok_only: bool = True) -> list[dict[str, Any]]:
        """Logged users / usersreplace requests (successful ones unless ``ok_only=False``)."""
        return [r for r in self.requests if r.get("operation") and (r["status"] == 200 or not ok_only)]

    # -- request handling -----------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: dict[str, str], *, query_keys: tuple[str, ...] = ()
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Route one Graph request; return (status, body, headers). The log keeps query parameter NAMES only."""
        entry: dict[str, Any] = {"method": method, "path": path, "query_keys": sorted(query_keys)}
        trace = secrets.token_urlsafe(9)
        try:
            with self.state.lock:
                body = self._route(method, path, params, entry)
            status, headers = 200, {}
        except GraphError as err:
            status, body, headers = err.status, err.body(trace), err.headers
            entry["error_code"] = err.code
            entry["error_subcode"] = err.subcode
        entry["status"] = status
        with self.state.lock:
            self.requests.append(entry)
        return status, body, headers

    def _route(self, method: str, path: str, params: dict[str, str], entry: dict[str, Any]) -> dict[str, Any]:
        if method == "POST" and params.get("method", "").upper() == "DELETE":
            method = "DELETE"  # Graph's method override for clients that cannot send DELETE
            entry["method"] = "DELETE"
        parts = [p for p in path.split("/") if p]
        if not parts or not _VERSION.match(parts[0]):
            raise GraphError(2500, "Unknown path components", type_="OAuthException")
        major = int(_VERSION.match(parts[0]).group(1))  # type: ignore[union-attr]
        # calls to a retired version fail (2635; "Graph API Changelog", versions and their end dates:
        # https://developers.facebook.com/docs/graph-api/changelog)
        if major < self.min_api_version:
            raise GraphError(
                2635, f"(#2635) You are calling a deprecated version of the Ads API ({parts[0]})"
            )
        self._authenticate(params)
        node, edge = parts[1] if len(parts) > 1 else "", "/".join(parts[2:])
        entry["node"], entry["edge"] = node, edge
        operation = _EDGE_OPERATION.get((method, edge))
        if operation is not None:
            entry["operation"] = operation
        fault = self.state.take_fault(is_edit=operation is not None)
        if fault is not None:
            entry["fault"] = fault.kind
            raise fault.error(self.state.account_id)

        if node == "debug_token" and method == "GET" and edge == "":
            return self._debug_token(params)
        if node == self.state.account_id:
            return self._account(method, edge, params)
        if node.startswith("act_"):
            raise not_found(node)
        audience = self.state.audience(node)
        if operation is not None:
            _log_session(entry, params)
            return self.state.upload(audience, operation, params)
        if method == "GET" and edge == "":
            return audience.fields(_fields(params), self.state.settings, self.state.clock())
        if method == "DELETE" and edge == "":  # deleted in Ads Manager or through the API
            del self.state.audiences[audience.id]
            return {"success": True}
        if method == "GET" and edge == "sessions":
            wanted = params.get("session_id")
            sessions = [s for s in audience.sessions.values() if not wanted or s.session_id == str(wanted)]
            return {"data": [_session_view(s, self.state.stage(audience, s)) for s in sessions]}
        raise GraphError(
            100, f"(#100) Unsupported {method} request on edge '{edge}'", type_="GraphMethodException"
        )

    def _authenticate(self, params: dict[str, str]) -> None:
        token = params.get(
            "access_token"
        )  # the handler folds an ``Authorization: Bearer|OAuth`` header in here
        # error codes 104 / 190 and appsecret_proof: "Handling Errors" and "Securing Requests" (Graph API docs,
        # https://developers.facebook.com/docs/graph-api/guides/error-handling,
        # https://developers.facebook.com/docs/graph-api/securing-requests)
        if not token:
            raise GraphError(104, "An access token is required to request this resource.")
        if not hmac.compare_digest(token, self._token):
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        if self._app_secret:
            expected = hmac.new(self._app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            proof = params.get("appsecret_proof")
            if not proof:
                raise GraphError(
                    100,
                    "API calls from the server require an appsecret_proof argument",
                    type_="GraphMethodException",
                )
            if not hmac.compare_digest(proof, expected):
                raise GraphError(
                    100, "Invalid appsecret_proof provided in the API argument", type_="GraphMethodException"
                )

    def _debug_token(self, params: dict[str, str]) -> dict[str, Any]:
        """``GET /debug_token?input_token=...``: metadata about a token ("Debug-Token", Graph API reference,
        https://developers.facebook.com/docs/graph-api/reference/debug_token/; the response's ``data`` object with
        ``app_id, type, application, expires_at, is_valid, issued_at, scopes, user_id`` is shown in "Inspecting
        access tokens", https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging). An
        unknown token is answered ``is_valid: false`` with an ``error`` (code 190), not an HTTP error."""
        token = params.get("input_token")
        if not token:
            raise GraphError(
                100, "(#100) The parameter input_token is required", type_="GraphMethodException"
            )
        settings = self.state.settings
        if not hmac.compare_digest(token, self._token):
            return {
                "data": {
                    "is_valid": False,
                    "error": {
                        "code": 190,
                        "message": "Invalid OAuth access token - Cannot parse access token",
                    },
                    "scopes": [],
                }
            }
        return {
            "data": {
                "app_id": "1000000000",
                "type": "SYSTEM_USER",
                "application": "Emulated app",
                "is_valid": True,
                "issued_at": 1_700_000_000,
                "expires_at": int(settings.token_expires_at),
                "data_access_expires_at": int(settings.token_data_access_expires_at),
                "scopes": list(settings.token_scopes),
                "user_id": "2000000000",
            }
        }

    def _account(self, method: str, edge: str, params: dict[str, str]) -> dict[str, Any]:
        account = self.state.account_id
        if method == "GET" and edge == "":
            everything = {
                "id": account,
                "account_id": account.removeprefix("act_"),
                "name": "Emulated ad account",
                "account_status": 1,
                "currency": "EUR",
            }
            wanted = _fields(params) or ["id"]
            return {k: everything[k] for k in wanted if k in everything}
        if edge == "customaudiences" and method == "GET":
            audiences = sorted(
                (a for a in self.state.audiences.values() if a.account_id == account), key=lambda a: a.id
            )
            start = int(params.get("after") or 0)
            limit = max(1, min(int(params.get("limit") or 25), 500))
            page = audiences[start : start + limit]
            now = self.state.clock()
            body: dict[str, Any] = {
                "data": [a.fields(_fields(params), self.state.settings, now) for a in page]
            }
            if page:
                body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
                if start + len(page) < len(audiences):
                    body["paging"]["next"] = f"{account}/customaudiences?after={start + len(page)}"
            return body
        if edge == "customaudiences" and method == "POST":
            return {"id": self.state.create_audience(account, params).id}
        raise GraphError(
            100, f"(#100) Unsupported {method} request on edge '{edge}'", type_="GraphMethodException"
        )

    def admin(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        """The ``/_admin`` API for the devstack and for tests in other processes."""
        if path == "/_admin/faults" and method == "POST":
            spec = json.loads(body or b"{}")
            kind = spec.pop("kind", "")
            if kind == "flag_audience":
                self.flag_audience(str(spec["audience_id"]))
            elif kind == "interrupt_replace":
                self.interrupt_replace(str(spec["audience_id"]))
            else:
                self.inject(kind, **spec)
            return 200, {"ok": True}
        if path == "/_admin/settings" and method == "POST":
            try:
                self.configure(**json.loads(body or b"{}"))
            except (TypeError, ValueError) as exc:  # an unknown name or a reading the emulator does not have
                return 400, {"error": str(exc)}
            return 200, dict(self.settings.__dict__)
        if path == "/_admin/settings" and method == "GET":
            return 200, dict(self.settings.__dict__)
        if path == "/_admin/faults" and method == "DELETE":
            self.clear_faults()
            return 200, {"ok": True}
        if path == "/_admin/requests" and method == "GET":
            with self.state.lock:
                return 200, list(self.requests)
        if path == "/_admin/audiences" and method == "GET":
            with self.state.lock:
                for audience in self.state.audiences.values():
                    self.state.settle(audience)
                return 200, [
                    {
                        "id": a.id,
                        "name": a.name,
                        "size": len(a.members),
                        "pending": len(a.pending),
                        "operation_status": a.operation_status,
                    }
                    for a in self.state.audiences.values()
                ]
        return 404, {"error": "unknown admin path"}


def _fields(params: dict[str, str]) -> list[str]:
    return [f for f in params.get("fields", "").split(",") if f]


def _session_view(session: Any, stage: str) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "num_received": session.num_received,
        "num_matched": session.num_received - session.num_invalid,
        "num_invalid_entries": session.num_invalid,
        "stage": stage,
    }


def _log_session(entry: dict[str, Any], params: dict[str, str]) -> None:
    """Counts and ordering only: never the rows themselves."""
    entry["payload_digest"] = payload_digest(params.get("payload"))
    try:
        session = json.loads(params.get("session") or "{}")
        payload = json.loads(params.get("payload") or "{}")
    except ValueError:
        return
    if isinstance(session, dict):
        entry["session_id"] = str(session.get("session_id"))
        entry["batch_seq"] = session.get("batch_seq")
        entry["last_batch_flag"] = session.get("last_batch_flag")
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        entry["rows"] = len(payload["data"])
        entry["schema"] = payload.get("schema")


class _Handler(BaseHTTPRequestHandler):
    emulator: MetaGraphEmulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = (
        True  # headers and body go out in two writes; Nagle would add ~40 ms per request
    )

    def log_message(self, format: str, *args: Any) -> None:  # the default logs full URLs, tokens included
        return

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if split.path.startswith("/_admin/"):
            status, body = self.emulator.admin(method, split.path, raw)
            self._reply(status, body, {})
            return
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        query_keys = tuple(params)
        params.update(_body_params(self.headers.get("Content-Type", ""), raw))
        scheme, _, credential = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() in ("bearer", "oauth") and credential and "access_token" not in params:
            params["access_token"] = credential.strip()
        status, body, headers = self.emulator.handle(method, split.path, params, query_keys=query_keys)
        self._reply(status, body, headers)

    def _reply(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


def _body_params(content_type: str, raw: bytes) -> dict[str, str]:
    if not raw:
        return {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        out: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                out[name] = payload.decode("utf-8")
        return out
    if content_type.startswith("application/json"):
        doc = json.loads(raw)
        return (
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in doc.items()}
            if isinstance(doc, dict)
            else {}
        )
    return {}
