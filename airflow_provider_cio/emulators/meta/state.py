"""What the Meta Graph emulator remembers: ad accounts, custom audiences, their members, upload sessions, faults.

Membership is keyed by EXTERN_ID when a row carries one (Meta merges rows sharing it into one person), otherwise by
the row's first hashed value. Removal by EXTERN_ID drops that person; removal without it drops every person who
shares any hashed value with the row. ``usersreplace`` stages rows per session and swaps the membership when the
session's last batch arrives, as Meta does.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

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

    def fields(self, wanted: list[str]) -> dict[str, Any]:
        size = len(self.members)
        status_text = {200: "Normal", FLAGGED_STATUS: "Audience flagged for sensitive categories"}
        everything: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "subtype": self.subtype,
            "customer_file_source": self.customer_file_source,
            "approximate_count_lower_bound": size,
            "approximate_count_upper_bound": size,
            "operation_status": {
                "code": self.operation_status,
                "description": status_text.get(self.operation_status, ""),
            },
            "delivery_status": {"code": 200 if size >= 100 else 300, "description": "emulated"},
        }
        keys = wanted or ["id"]
        return {k: everything[k] for k in keys if k in everything}


class GraphState:
    """All emulated objects behind one lock."""

    def __init__(self, ad_account_id: str) -> None:
        self.lock = threading.RLock()
        self.account_id = ad_account_id if ad_account_id.startswith("act_") else f"act_{ad_account_id}"
        self.audiences: dict[str, Audience] = {}
        self.faults: list[Fault] = []
        self._next_id = 23850000000000001

    # -- objects -------------------------------------------------------------------------------------------

    def create_audience(self, account: str, params: dict[str, str]) -> Audience:
        name = params.get("name", "")
        if not name:
            raise invalid_param("name is required")
        subtype = params.get("subtype", "CUSTOM")
        if subtype != "CUSTOM":
            raise invalid_param("this emulator creates customer-file audiences only (subtype CUSTOM)")
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
        return audience

    def take_fault(self, is_edit: bool) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and (fault.on == "any" or is_edit):
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- uploads -------------------------------------------------------------------------------------------

    def upload(self, audience: Audience, operation: str, params: dict[str, str]) -> dict[str, Any]:
        """Validate and apply one users / usersreplace request; return Graph's response body."""
        if audience.operation_status == FLAGGED_STATUS:
            raise GraphError(
                100,
                "(#100) This audience was flagged because it may include data that is not allowed; it cannot be edited",
                subcode=1713230,
                user_msg="Audience flagged for sensitive categories (operation_status 471)",
            )
        schema, rows = _parse_payload(params.get("payload"))
        session_param = _json_param(params.get("session"), "session") if params.get("session") else None
        open_replace = any(s.operation == "replace" and not s.finished for s in audience.sessions.values())

        if open_replace and operation != "replace":
            raise invalid_param(
                "a replace session is in progress on this audience; adds and removes are blocked"
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

        if operation == "add":
            for extern, values in parsed:
                _merge(audience.members, extern, values)
        elif operation == "remove":
            for extern, values in parsed:
                _remove(audience.members, extern, values)
        else:
            for extern, values in parsed:
                _merge(session.staged, extern, values)

        session.num_received += len(rows)
        session.num_invalid += invalid
        if last:
            session.finished = True
            if operation == "replace":
                audience.members = session.staged
                session.staged = {}
        audience.sessions[session.session_id] = session
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
        last = bool(param.get("last_batch_flag", False))
        session = audience.sessions.get(session_id)
        if session is None:
            if seq != 1:
                raise invalid_param(f"a new session must start with batch_seq 1, got {seq}")
            session = UploadSession(
                session_id, operation, estimated_num_total=int(param.get("estimated_num_total") or 0)
            )
        elif session.operation != operation:
            raise invalid_param(f"session {session_id} is a {session.operation} session, not {operation}")
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
    if isinstance(schema, str):
        schema = [schema]
    if not isinstance(schema, list) or not schema or not all(isinstance(k, str) for k in schema):
        raise invalid_param("payload.schema must be a non-empty list of keys")
    unknown = sorted(set(schema) - KNOWN_KEYS)
    if unknown or len(set(schema)) != len(schema):
        raise invalid_param(f"payload.schema has unknown or repeated keys: {unknown or 'repeated'}")
    data = payload.get("data")
    if not isinstance(data, list) or not data:
        raise invalid_param("payload.data must be a non-empty list of rows")
    if len(data) > MAX_ROWS:
        raise invalid_param(
            f"payload.data has {len(data)} rows; at most {MAX_ROWS} per request", subcode=1870049
        )
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


def _remove(members: dict[str, dict[str, set[str]]], extern: str | None, values: dict[str, str]) -> None:
    if extern:
        members.pop(f"x:{extern}", None)
        return
    wanted = set(values.values())
    for key in [k for k, person in members.items() if any(wanted & hashes for hashes in person.values())]:
        del members[key]


def payload_digest(raw: str | None) -> str | None:
    """A short digest of a payload, so a test can tell whether the same rows were sent twice."""
    return hashlib.sha256(raw.encode()).hexdigest()[:16] if raw else None
