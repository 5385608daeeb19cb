"""What the Meta Graph emulator remembers: ad accounts, custom audiences, their members, upload sessions, faults.

Membership is keyed by EXTERN_ID when a row carries one (Meta merges rows sharing it into one person), otherwise by
the row's first hashed value. Edits are accepted at once and applied later (``Pending``, ``settle``); how a removal
row finds people is a reading (``MetaEmulatorSettings.removal_match``). ``usersreplace`` stages rows per session and
swaps the membership after the session's last batch arrives; a replace session can expire or be interrupted
(error 2650), and what it leaves is a reading too (``expired_replace_leaves``). See ``settings.py`` for the sources.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cio_devkit.emulators.meta.settings import SERVICE_ERROR, MetaEmulatorSettings

KNOWN_KEYS = frozenset(
    {
        "EXTERN_ID",
        "EMAIL",
        "PHONE",
        "GEN",
        "DOBY",
        "DOBM",
        "DOBD",
        "LN",
        "FN",
        "FI",
        "CT",
        "ST",
        "ZIP",
        "MADID",
        "COUNTRY",
    }
)
UNHASHED_KEYS = frozenset({"EXTERN_ID", "MADID"})
SINGLE_KEY_SCHEMAS = {"EMAIL_SHA256": "EMAIL", "PHONE_SHA256": "PHONE", "MOBILE_ADVERTISER_ID": "MADID"}
# "You can add an unlimited number of records for an audience, but only a maximum of 10000 at a time"
# ("Custom Audience Users" reference, https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users)
MAX_ROWS = 10_000
FLAGGED_STATUS = 471
_HEX64 = re.compile(r"[0-9a-f]{64}")


class GraphError(Exception):
    """An error the emulator answers with, in Graph's JSON shape."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        type_: str = "OAuthException",
        subcode: int | None = None,
        status: int = 400,
        transient: bool = False,
        user_msg: str | None = None,
        user_title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.type = type_
        self.subcode = subcode
        self.status = status
        self.transient = transient
        self.user_msg = user_msg
        self.user_title = user_title
        self.headers = headers or {}

    def body(self, trace_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "code": self.code,
            "is_transient": self.transient,
            "fbtrace_id": trace_id,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.user_msg:
            error["error_user_msg"] = self.user_msg
        if self.user_title:
            error["error_user_title"] = self.user_title
        return {"error": error}


def not_found(node: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, "
        "or does not support this operation.",
        type_="GraphMethodException",
        subcode=33,
    )


def invalid_param(user_msg: str, *, subcode: int | None = None) -> GraphError:
    return GraphError(100, "(#100) Invalid parameter", subcode=subcode, user_msg=user_msg)


@dataclass
class Fault:
    """An armed fault: fires on the next ``times`` requests it applies to (``on``: "edits" or "any")."""

    kind: str  # throttle | transient | invalid_token | permission
    times: int = 1
    on: str = "edits"
    code: int | None = None
    minutes: int = 1
    status: int = 500

    def error(self, account_id: str) -> GraphError:
        if self.kind == "throttle":
            code = self.code or 80003
            usage = {
                account_id.removeprefix("act_"): [
                    {
                        "type": "custom_audience",
                        "call_count": 100,
                        "total_cputime": 30,
                        "total_time": 40,
                        "estimated_time_to_regain_access": self.minutes,
                    }
                ]
            }
            return GraphError(
                code,
                "(#80003) There have been too many calls to this ad-account. Wait a bit and try again.",
                transient=True,
                headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
            )
        if self.kind == "transient":
            return GraphError(
                self.code or 2,
                "An unexpected error has occurred. Please retry your request later.",
                status=self.status,
                transient=True,
            )
        if self.kind == "invalid_token":
            return GraphError(
                190, "Invalid OAuth access token - Cannot parse access token", subcode=self.code
            )
        if self.kind == "permission":
            return GraphError(
                self.code or 200, "(#200) The user hasn't authorized the application", type_="OAuthException"
            )
        raise ValueError(f"unknown fault kind {self.kind!r}")


FAULT_KINDS = frozenset({"throttle", "transient", "invalid_token", "permission"})


@dataclass
class UploadSession:
    session_id: str
    operation: str  # add | remove | replace
    last_seq: int = 0
    finished: bool = False
    num_received: int = 0
    num_invalid: int = 0
    estimated_num_total: int = 0
    staged: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    started_at: float = 0.0
    dropped: int | None = (
        None  # the 2650 subcode once Meta dropped the (replace) session: expired / interrupted
    )


@dataclass
class Pending:
    """An accepted edit waiting for its ``due`` time (Meta applies edits later, in no promised order)."""

    due: float
    order: int
    operation: str
    session_id: str
    rows: list[tuple[str | None, dict[str, str]]] = field(default_factory=list)
    replacement: dict[str, dict[str, set[str]]] | None = None


@dataclass
class Audience:
    id: str
    account_id: str
    name: str
    description: str
    subtype: str
    customer_file_source: str
    operation_status: int = 200
    members: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    sessions: dict[str, UploadSession] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    # every removal row received, (EXTERN_ID, hashed values): what a test asserts no present member was named in
    removal_rows: list[tuple[str | None, frozenset[str]]] = field(default_factory=list)
    shown_size: int = 0
    size_changed_at: float = 0.0

    def fields(self, wanted: list[str], settings: MetaEmulatorSettings, now: float) -> dict[str, Any]:
        if now - self.size_changed_at >= settings.count_delay:
            self.shown_size = len(self.members)  # sizes show up late: refreshed count_delay after a change
        lower, upper = settings.bounds(self.shown_size)
        status_text = {200: "Normal", FLAGGED_STATUS: "Audience flagged for sensitive categories"}
        everything: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "subtype": self.subtype,
            "customer_file_source": self.customer_file_source,
            "approximate_count_lower_bound": lower,
            "approximate_count_upper_bound": upper,
            "operation_status": {
                "code": self.operation_status,
                "description": status_text.get(self.operation_status, ""),
            },
            "delivery_status": {"code": 200 if self.shown_size >= 100 else 300, "description": "emulated"},
        }
        keys = wanted or ["id"]
        return {k: everything[k] for k in keys if k in everything}


class GraphState:
    """All emulated objects behind one lock; time is ``clock()`` seconds (monotonic unless a test passes one)."""

    def __init__(
        self,
        ad_account_id: str,
        settings: MetaEmulatorSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.RLock()
        self.account_id = ad_account_id if ad_account_id.startswith("act_") else f"act_{ad_account_id}"
        self.settings = settings or MetaEmulatorSettings()
        self.clock = clock
        self.audiences: dict[str, Audience] = {}
        self.faults: list[Fault] = []
        self._next_id = 23850000000000001
        self._order = 0

    # -- objects -------------------------------------------------------------------------------------------

    def create_audience(self, account: str, params: dict[str, str]) -> Audience:
        name = params.get("name", "")
        if not name:
            raise invalid_param("name is required")
        subtype = params.get("subtype", "CUSTOM")
        if subtype != "CUSTOM":
            raise invalid_param("this emulator creates customer-file audiences only (subtype CUSTOM)")
        # customer_file_source is required for customer-file audiences ("Customer File Custom Audiences", Create a
        # Custom Audience: https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences)
        source = params.get("customer_file_source", "")
        if source not in ("USER_PROVIDED_ONLY", "PARTNER_PROVIDED_ONLY", "BOTH_USER_AND_PARTNER_PROVIDED"):
            raise invalid_param(
                "customer_file_source is required for customer list audiences", subcode=1870053
            )
        audience = Audience(str(self._next_id), account, name, params.get("description", ""), subtype, source)
        self._next_id += 1
        self.audiences[audience.id] = audience
        return audience

    def audience(self, node: str) -> Audience:
        audience = self.audiences.get(node)
        if audience is None:
            raise not_found(node)
        self.settle(audience)
        return audience

    def take_fault(self, is_edit: bool) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and (fault.on == "any" or is_edit):
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- asynchronous processing ---------------------------------------------------------------------------

    def settle(self, audience: Audience) -> None:
        """Apply every accepted edit whose time has come, in due order (not in the order it was sent)."""
        now = self.clock()
        ttl = self.settings.replace_session_ttl
        for session in audience.sessions.values():
            if (
                ttl is not None
                and session.operation == "replace"
                and not session.finished
                and session.dropped is None
                and now - session.started_at > ttl
            ):
                self._drop_replace(
                    audience, session, self.settings.replace_expired_subcode, session.started_at + ttl
                )
        due = sorted((p for p in audience.pending if p.due <= now), key=lambda p: (p.due, p.order))
        for change in due:
            audience.pending.remove(change)
            before = len(audience.members)
            if change.replacement is not None:
                audience.members = change.replacement
            elif change.operation == "add":
                for extern, values in change.rows:
                    _merge(audience.members, extern, values)
            else:
                _remove_rows(audience.members, change.rows, self.settings.removal_match)
            if len(audience.members) != before or change.replacement is not None:
                audience.size_changed_at = change.due

    def _enqueue(self, audience: Audience, pending: Pending, *, at: float | None = None) -> None:
        self._order += 1
        pending.order = self._order
        pending.due = (self.clock() if at is None else at) + self.settings.delay_for(pending.operation)
        audience.pending.append(pending)

    def _drop_replace(self, audience: Audience, session: UploadSession, subcode: int, at: float) -> None:
        """Meta dropped the replace session: under the "partial" reading what it received replaces the audience."""
        session.dropped = subcode
        if self.settings.expired_replace_leaves == "partial" and session.staged:
            self._enqueue(
                audience, Pending(0.0, 0, "replace", session.session_id, replacement=session.staged), at=at
            )
        session.staged = {}

    def interrupt_replace(self, audience: Audience) -> int:
        """Drop the audience's open replace sessions as interrupted (the next batch of one gets 2650)."""
        dropped = 0
        for session in audience.sessions.values():
            if session.operation == "replace" and not session.finished and session.dropped is None:
                self._drop_replace(audience, session, self.settings.replace_interrupted_subcode, self.clock())
                dropped += 1
        return dropped

    def stage(self, audience: Audience, session: UploadSession) -> str:
        """The emulator's session stages: uploading, processing (accepted, not applied), finished, dropped."""
        if session.dropped is not None:
            return "dropped"
        if not session.finished:
            return "uploading"
        if any(p.session_id == session.session_id for p in audience.pending):
            return "processing"
        return "finished"

    # -- uploads -------------------------------------------------------------------------------------------

    def upload(self, audience: Audience, operation: str, params: dict[str, str]) -> dict[str, Any]:
        """Validate and accept one users / usersreplace request; return Graph's response body.

        Accepting is not applying: the rows join ``audience.pending`` and are applied ``delay_for(operation)``
        seconds later (``settle``)."""
        if audience.operation_status == FLAGGED_STATUS:
            # "Custom Audience Users" / "Usersreplace" reference, "Flagged custom and lookalike audiences":
            # https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users
            raise GraphError(
                100,
                "Invalid parameter",
                subcode=1713230,
                user_title="Audience Upload Blocked",
                user_msg="Before updating user memberships, you must resolve integrity restrictions on this Data "
                "File Custom Audience. Go to Audience Manager to appeal the restrictions or create a new audience "
                "with updated data",
            )
        schema, rows = _parse_payload(params.get("payload"))
        session_param = _json_param(params.get("session"), "session") if params.get("session") else None
        open_replace = any(
            s.operation == "replace" and not s.finished and s.dropped is None
            for s in audience.sessions.values()
        )

        # no adds or removals while a replace session is open (the emulator's reading of the "Custom Audience
        # Usersreplace" reference: https://developers.facebook.com/docs/marketing-api/reference/custom-audience/usersreplace)
        if open_replace and operation != "replace":
            raise invalid_param(
                "a replace session is in progress on this audience; adds and removes are blocked"
            )
        if operation == "remove" and len(audience.members) < self.settings.min_size_for_removal:
            raise GraphError(
                SERVICE_ERROR,
                "(#2650) Failed to update the custom audience",
                subcode=self.settings.small_audience_subcode,
                user_title="Audience Too Small",
                user_msg=f"This audience has fewer than {self.settings.min_size_for_removal} people; people cannot "
                "be removed from it",
            )
        if session_param is None:
            if operation == "replace":
                raise invalid_param("usersreplace needs a session")
            session = UploadSession(session_id=f"auto{len(audience.sessions) + 1}", operation=operation)
            last = True
        else:
            session, last = self._session_for(audience, operation, session_param)

        invalid = 0
        parsed: list[tuple[str | None, dict[str, str]]] = []
        for row in rows:
            extern = None
            values: dict[str, str] = {}
            for key, value in zip(schema, row, strict=True):
                if key == "EXTERN_ID":
                    extern = value or None
                elif value:
                    values[key] = value
            if extern is None and not values:
                invalid += 1
                continue
            parsed.append((extern, values))

        if operation == "replace":
            for extern, values in parsed:
                _merge(session.staged, extern, values)
        else:
            if operation == "remove":
                audience.removal_rows.extend(
                    (extern, frozenset(values.values())) for extern, values in parsed
                )
            self._enqueue(audience, Pending(0.0, 0, operation, session.session_id, rows=parsed))

        session.num_received += len(rows)
        session.num_invalid += invalid
        if last:
            session.finished = True
            if operation == "replace":
                self._enqueue(
                    audience, Pending(0.0, 0, "replace", session.session_id, replacement=session.staged)
                )
                session.staged = {}
        audience.sessions[session.session_id] = session
        self.settle(audience)
        return {
            "audience_id": audience.id,
            "session_id": session.session_id,
            "num_received": len(rows),
            "num_invalid_entries": invalid,
            "invalid_entry_samples": {},
        }

    def _session_for(self, audience: Audience, operation: str, param: Any) -> tuple[UploadSession, bool]:
        if not isinstance(param, dict):
            raise invalid_param("session must be an object")
        try:
            session_id = str(int(param["session_id"]))
            seq = int(param["batch_seq"])
        except (KeyError, TypeError, ValueError):
            raise invalid_param("session needs an integer session_id and batch_seq") from None
        # session_id, batch_seq (from 1), last_batch_flag, estimated_num_total ("Custom Audience Users" reference,
        # parameter session: https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users); the refusals of repeats and of batches after the last one are the emulator's reading
        last = bool(param.get("last_batch_flag", False))
        session = audience.sessions.get(session_id)
        if session is None:
            if seq != 1:
                raise invalid_param(f"a new session must start with batch_seq 1, got {seq}")
            session = UploadSession(
                session_id,
                operation,
                estimated_num_total=int(param.get("estimated_num_total") or 0),
                started_at=self.clock(),
            )
        elif session.operation != operation:
            raise invalid_param(f"session {session_id} is a {session.operation} session, not {operation}")
        elif session.dropped is not None:
            reason = (
                "timed out" if session.dropped == self.settings.replace_expired_subcode else "was interrupted"
            )
            raise GraphError(
                SERVICE_ERROR,
                "(#2650) Failed to update the custom audience",
                subcode=session.dropped,
                user_title="Replace Session Ended",
                user_msg=f"The replace session {session_id} {reason}; start a new session with a new session_id "
                "and send every batch again",
            )
        elif session.finished:
            raise invalid_param(f"session {session_id} already received its last batch")
        elif seq <= session.last_seq:
            raise invalid_param(f"batch_seq {seq} is not after {session.last_seq} in session {session_id}")
        session.last_seq = seq
        return session, last


def _json_param(raw: str | None, name: str) -> Any:
    if raw is None:
        raise invalid_param(f"{name} is required")
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid_param(f"{name} is not valid JSON") from None


def _parse_payload(raw: str | None) -> tuple[list[str], list[list[str]]]:
    payload = _json_param(raw, "payload")
    if not isinstance(payload, dict):
        raise invalid_param("payload must be an object with schema and data")
    schema = payload.get("schema")
    data = payload.get("data")
    if isinstance(schema, str):
        # Single-key schemas ("EMAIL_SHA256", "PHONE_SHA256", "MOBILE_ADVERTISER_ID", what the SDK's add_users /
        # remove_users send for one kind) take a flat list of values ("Custom Audience Users" reference, payload.schema:
        # https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users)
        schema = [SINGLE_KEY_SCHEMAS.get(schema, schema)]
        if isinstance(data, list):
            data = [[value] if isinstance(value, str) else value for value in data]
    if not isinstance(schema, list) or not schema or not all(isinstance(k, str) for k in schema):
        raise invalid_param("payload.schema must be a non-empty list of keys")
    unknown = sorted(set(schema) - KNOWN_KEYS)
    if unknown or len(set(schema)) != len(schema):
        raise invalid_param(f"payload.schema has unknown or repeated keys: {unknown or 'repeated'}")
    if not isinstance(data, list) or not data:
        raise invalid_param("payload.data must be a non-empty list of rows")
    if len(data) > MAX_ROWS:
        raise invalid_param(
            f"payload.data has {len(data)} rows; at most {MAX_ROWS} per request", subcode=1870049
        )
    # every key but EXTERN_ID / MADID is a SHA-256 of the normalized value ("Customer File Custom Audiences", Hashing
    # and Normalizing Data: https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences)
    hashed_columns = [i for i, key in enumerate(schema) if key not in UNHASHED_KEYS]
    unhashed = 0
    fullmatch = _HEX64.fullmatch
    for row in data:
        if not isinstance(row, list) or len(row) != len(schema) or not all(isinstance(v, str) for v in row):
            raise invalid_param(
                "every row of payload.data must be a list of strings as long as payload.schema"
            )
        for i in hashed_columns:
            value = row[i]
            if value and not fullmatch(value):
                unhashed += 1
    if unhashed:
        raise invalid_param(
            f"{unhashed} value(s) are not SHA-256 hashes: hash normalized values as 64 lowercase hex characters",
            subcode=1870065,
        )
    return schema, data


def _member_key(extern: str | None, values: dict[str, str]) -> str:
    return f"x:{extern}" if extern else f"h:{next(iter(sorted(values.values())))}"


def _merge(members: dict[str, dict[str, set[str]]], extern: str | None, values: dict[str, str]) -> None:
    person = members.setdefault(_member_key(extern, values), {})
    for key, value in values.items():
        person.setdefault(key, set()).add(value)


def _remove_rows(
    members: dict[str, dict[str, set[str]]], rows: list[tuple[str | None, dict[str, str]]], reading: str
) -> None:
    """Remove the people these rows match (settings ``removal_match``): Meta removes people, not identifiers.

    ``any_key``: a row removes the person with its EXTERN_ID and everyone holding one of its hashed values;
    ``extern_id``: a row with an EXTERN_ID removes that person only, one without falls back to its hashed values.
    One reverse index per request keeps a large removal linear in audience size plus rows."""
    by_hash: dict[str, set[str]] | None = None
    for extern, values in rows:
        if extern:
            members.pop(f"x:{extern}", None)
            if reading == "extern_id":
                continue
        if not values:
            continue
        if by_hash is None:
            by_hash = {}
            for key, person in members.items():
                for hashes in person.values():
                    for value in hashes:
                        by_hash.setdefault(value, set()).add(key)
        for value in values.values():
            for key in by_hash.get(value, ()):
                members.pop(key, None)


def payload_digest(raw: str | None) -> str | None:
    """A short digest of a payload, so a test can tell whether the same rows were sent twice."""
    return hashlib.sha256(raw.encode()).hexdigest()[:16] if raw else None
