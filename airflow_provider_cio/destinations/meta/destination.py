"""Meta Custom Audiences through facebook-business, as a sync ``Destination``.

Built on a private ``FacebookSession`` + ``FacebookAdsApi(session, api_version=...)``: never
``FacebookAdsApi.init()``, which installs a process-wide default API and a crash reporter that posts tracebacks to
Meta. With ``app_secret`` the SDK session adds ``appsecret_proof`` (HMAC-SHA256 of the token) to every request
(checked against the emulator, which verifies it).

Wire details that matter:
* adds ``POST /{id}/users``, full refresh ``POST /{id}/usersreplace``, both with form-encoded ``payload`` and
  ``session``;
* removals ``DELETE /{id}/users`` with the payload in a multipart BODY. ``FacebookAdsApi.call`` puts DELETE params
  in the query string (10,000 hashed rows would make a multi-megabyte URL), but it passes ``files`` to
  ``requests`` as the body for every method; fields given as ``(None, text)`` encode as plain form fields, exactly
  ``curl -X DELETE -F payload=... -F session=...``. The SDK still builds the URL, signs the request through the
  session and raises ``FacebookRequestError`` as usual.
* the access token travels as an ``Authorization: Bearer`` header instead of the SDK's default query parameter,
  so URLs in urllib3 debug logs, proxies and exception texts never carry it;
* one session per run and operation: ``session_id`` (random 63-bit, stored in the sync ledger so a resumed run
  continues it), ``batch_seq`` from 1 counting the batches Meta received (``meta_seq`` in the handle: a batch with
  nothing to send is skipped without a gap), ``last_batch_flag``, ``estimated_num_total``.

Platform truth (issue 15). Meta applies edits later and in no promised order, and removes *people*, never single
identifiers: a removal row matches whoever it names by EXTERN_ID or by any hashed key. So a retained removal (a
member who stays, with identifiers they lost) is never sent: any row naming them could remove them. A replace session
Meta drops (error 2650: timed out or interrupted) makes every batch of it void: the rest of the run sends nothing
more in it and ``close_session`` reports all its batches failed, so the run fails loudly and the next one replaces
the audience again in a new session.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_cio.destinations.meta.errors import classify_request_error, is_replace_session_ended
from airflow_provider_cio.destinations.meta.schema import MAX_ROWS_PER_REQUEST, build_payload, rows_for
from airflow_provider_cio.sync.destination import BatchResult, Destination, Member, Operation, SessionState
from airflow_provider_cio.sync.errors import ConfigurationError, DataError, PlatformError, SyncError
from airflow_provider_cio.sync.naming import refuse_foreign_audience, validate_platform_name

if TYPE_CHECKING:
    from facebook_business.api import FacebookAdsApi

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "v26.0"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
_EDGE = {"add": ("POST", "users"), "remove": ("DELETE", "users"), "replace": ("POST", "usersreplace")}
T = TypeVar("T")


class _ReplaceSessionEnded(Exception):
    """Meta dropped a replace session (error 2650 mid-session); handled inside the destination, never raised out."""

    def __init__(self, subcode: int | None) -> None:
        super().__init__(f"replace session ended (subcode {subcode})")
        self.subcode = subcode


class MetaCustomAudienceDestination(Destination):
    """One ad account's customer-file Custom Audiences."""

    platform = "meta"

    def __init__(
        self,
        ad_account_id: str,
        access_token: str,
        app_secret: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        graph_url: str | None = None,
        *,
        max_batch_size: int = MAX_ROWS_PER_REQUEST,
        timeout: float = 120.0,
        customer_file_source: str = "USER_PROVIDED_ONLY",
        send_extern_id: bool = True,
    ) -> None:
        if not ad_account_id or not access_token:
            raise ConfigurationError("Meta destination needs ad_account_id and access_token")
        if not 1 <= max_batch_size <= MAX_ROWS_PER_REQUEST:
            raise ValueError(f"max_batch_size must be within 1..{MAX_ROWS_PER_REQUEST} (rows per request)")
        self.ad_account_id = ad_account_id if ad_account_id.startswith("act_") else f"act_{ad_account_id}"
        self.api_version = api_version
        self.graph_url = (graph_url or DEFAULT_GRAPH_URL).rstrip("/")
        self.max_batch_size = max_batch_size  # a row budget: the core weighs members with rows_for()
        self.customer_file_source = customer_file_source
        self.send_extern_id = send_extern_id
        self._access_token = access_token
        self._app_secret = app_secret
        self._timeout = timeout
        self._api: FacebookAdsApi | None = None

    def __repr__(self) -> str:  # never show the token
        return f"MetaCustomAudienceDestination({self.ad_account_id!r}, api_version={self.api_version!r})"

    @property
    def api(self) -> FacebookAdsApi:
        """A private SDK client (built once, lazily: the SDK import stays out of DAG parsing)."""
        if self._api is None:
            from facebook_business.api import FacebookAdsApi
            from facebook_business.session import FacebookSession

            session = FacebookSession(
                app_secret=self._app_secret, access_token=self._access_token, timeout=self._timeout
            )
            session.GRAPH = self.graph_url  # instance attribute: the class default stays graph.facebook.com
            # The SDK puts the token in every URL's query string, where urllib3's DEBUG log and proxies record it.
            # Graph also takes it as a bearer header; appsecret_proof (an HMAC, useless without the token) stays.
            session.requests.params.pop("access_token", None)
            session.requests.headers["Authorization"] = f"Bearer {self._access_token}"
            self._api = FacebookAdsApi(session, api_version=self.api_version)
        return self._api

    @property
    def requests_attempted(self) -> int:
        return int(self.api.get_num_requests_attempted()) if self._api is not None else 0

    def rows_for(self, member: Member) -> int:
        return rows_for(member)

    def _guarded(
        self, what: str, fn: Callable[[], T], *, operation: str | None = None, seq: int | None = None
    ) -> T:
        """Run one SDK call; translate its failures into sync error classes without chaining the SDK's text.
        A replace batch Meta refuses because it dropped the session raises ``_ReplaceSessionEnded`` instead."""
        import requests
        from facebook_business.exceptions import FacebookRequestError

        try:
            return fn()
        except FacebookRequestError as exc:
            if (
                operation is not None
                and seq is not None
                and is_replace_session_ended(exc, operation=operation, seq=seq)
            ):
                raise _ReplaceSessionEnded(exc.api_error_subcode()) from None
            error = classify_request_error(exc, what=what, operation=operation)
        except (requests.ConnectionError, requests.Timeout) as exc:
            error = PlatformError(f"{what}: cannot reach the Graph API ({type(exc).__name__})")
        raise error

    # -- Destination ------------------------------------------------------------------------------------------

    def ping(self) -> dict[str, Any]:
        """One cheap real call (GET the ad account): proves the token, appsecret_proof and account access."""
        from facebook_business.adobjects.adaccount import AdAccount

        account = self._guarded(
            "read ad account",
            lambda: AdAccount(self.ad_account_id, api=self.api).api_get(
                fields=["id", "name", "account_status"]
            ),
        )
        return {
            "id": account.get("id"),
            "name": account.get("name"),
            "account_status": account.get("account_status"),
        }

    def test_connection(self) -> tuple[bool, str]:
        """Airflow-style ``(ok, message)`` built on ``ping``."""
        try:
            info = self.ping()
        except SyncError as exc:
            return False, str(exc)
        return True, f"reached Meta ad account {info['id']}"

    def ensure_audience(self, name: str, *, description: str = "", known_id: str | None = None) -> str:
        """Find the audience by exact name (refusing one whose description names another owner), or create it.

        Meta allows several audiences with one name (a copy made in Ads Manager, two first syncs racing). Syncing
        into whichever comes first would apply the ledger's changes to an audience that never had its members: the
        one last synced (``known_id``) is used, and several without it are refused, naming their ids.
        """
        from facebook_business.adobjects.adaccount import AdAccount
        from facebook_business.adobjects.customaudience import CustomAudience

        validate_platform_name(name)
        account = AdAccount(self.ad_account_id, api=self.api)

        def find() -> list[dict[str, Any]]:
            cursor = account.get_custom_audiences(fields=["id", "name", "description"], params={"limit": 200})
            return [
                {"id": str(audience["id"]), "description": audience.get("description")}
                for audience in cursor
                if audience.get("name") == name
            ]

        matches = self._guarded("list custom audiences", find)
        chosen = [m for m in matches if m["id"] == known_id] or matches
        if len(chosen) > 1:
            raise ConfigurationError(
                f"meta: {len(chosen)} custom audiences in {self.ad_account_id} are named {name!r} "
                f"(ids {', '.join(m['id'] for m in chosen)}) and none is the one this deployment last synced; "
                "which one ads target is unknown, so nothing was sent. Keep one: delete or rename the others",
                who_must_act="the owner of the Meta ad account",
            )
        if chosen:
            refuse_foreign_audience("meta", name, chosen[0]["description"], description)
            return str(chosen[0]["id"])
        created = self._guarded(
            "create custom audience",
            lambda: account.create_custom_audience(
                params={
                    "name": name,
                    "subtype": CustomAudience.Subtype.custom,
                    "description": description or f"Managed by airflow-provider-cio: {name}",
                    "customer_file_source": self.customer_file_source,
                }
            ),
        )
        log.info("created Meta custom audience %s in %s", created["id"], self.ad_account_id)
        return str(created["id"])

    def open_session(self, audience_id: str, operation: Operation, *, total_members: int) -> SessionState:
        if operation not in _EDGE:
            raise ValueError(f"unknown operation {operation!r}")
        handle = {
            "session_id": secrets.randbits(63) or 1,
            "estimated_num_total": total_members,
            "meta_seq": 0,  # batches Meta received in this session
            "meta_received": 0,  # rows it counted
        }
        return SessionState(operation=operation, handle=handle)

    def send_batch(
        self,
        audience_id: str,
        session: SessionState,
        batch: Sequence[Member],
        *,
        seq: int,
        last: bool,
    ) -> BatchResult:
        session.handle["last_seq"] = seq
        if session.handle.get("ended"):
            # Meta dropped this replace session: nothing more can join it; close_session reports every batch failed
            return BatchResult(received=0)
        sendable = [m for m in batch if not getattr(m, "retained", False)]
        if len(sendable) < len(batch):
            session.handle["retained_not_sent"] = int(session.handle.get("retained_not_sent", 0)) + (
                len(batch) - len(sendable)
            )
        if not sendable:
            return BatchResult(received=0)
        payload, unhashed = build_payload(sendable, send_extern_id=self.send_extern_id)
        if unhashed:
            raise DataError(
                f"{unhashed} identifier value(s) in batch {seq} are not SHA-256 hex; refusing to send them"
            )
        if len(payload["data"]) > MAX_ROWS_PER_REQUEST:
            raise ValueError(
                f"batch {seq} has {len(payload['data'])} rows, above Meta's {MAX_ROWS_PER_REQUEST}"
            )
        # Meta numbers the batches it receives; a batch of retained rows only is never sent, so the count is ours
        # (handles from before this counter number batches like the sync core)
        meta_seq = int(session.handle.get("meta_seq", seq - 1)) + 1
        session_param = {
            "session_id": session.handle["session_id"],
            "batch_seq": meta_seq,
            "last_batch_flag": last,
            "estimated_num_total": session.handle.get("estimated_num_total", len(batch)),
        }
        method, edge = _EDGE[session.operation]
        what = f"{session.operation} batch {seq} to audience {audience_id}"
        if method == "DELETE":
            body = {
                "payload": (None, json.dumps(payload, separators=(",", ":"))),
                "session": (None, json.dumps(session_param, separators=(",", ":"))),
            }
            call = lambda: self.api.call("DELETE", (audience_id, edge), files=body)  # noqa: E731
        else:
            params = {"payload": payload, "session": session_param}
            call = lambda: self.api.call(method, (audience_id, edge), params=params)  # noqa: E731
        try:
            response = self._guarded(what, call, operation=session.operation, seq=meta_seq)
        except _ReplaceSessionEnded as ended:
            session.handle["ended"] = ended.subcode or True
            log.error(
                "%s: Meta ended replace session %s (error 2650, subcode %s); no batch of it counts, the run will "
                "fail and the next one replaces the audience in a new session",
                what,
                session.handle["session_id"],
                ended.subcode,
            )
            return BatchResult(received=0)
        result = response.json()
        if not isinstance(result, dict):
            raise PlatformError(f"{what}: unexpected response body")
        received = int(result.get("num_received", 0))
        invalid = int(result.get("num_invalid_entries", 0))
        session.handle["meta_seq"] = meta_seq
        session.handle["meta_received"] = int(session.handle.get("meta_received", 0)) + received
        if invalid:
            log.warning("%s: Meta marked %s of %s rows invalid", what, invalid, received)
        return BatchResult(
            received=received, invalid=invalid, request_id=str(result.get("session_id", "")) or None
        )

    def session_received(self, audience_id: str, session: SessionState) -> int | None:
        """Rows Meta counted in this session so far (None if Meta does not list it): a resume uses it to tell
        whether the batch in flight when a worker died landed (Meta refuses a repeated ``batch_seq``)."""
        sid = session.handle.get("session_id")
        response = self._guarded(
            "read upload sessions",
            lambda: self.api.call("GET", (audience_id, "sessions"), params={"session_id": sid}),
        )
        for entry in (response.json() or {}).get("data", []):
            if str(entry.get("session_id")) == str(sid):
                counted = int(entry.get("num_received", 0))
                if "meta_received" in session.handle and counted > int(session.handle["meta_received"]):
                    # the batch in flight landed: the next one Meta expects is one further on
                    session.handle["meta_seq"] = int(session.handle.get("meta_seq", 0)) + 1
                    session.handle["meta_received"] = counted
                return counted
        return None

    def close_session(self, audience_id: str, session: SessionState) -> dict[str, Any]:
        """Meta closes a session on ``last_batch_flag``; report its id and how Meta counted it so far.

        A replace session Meta dropped reports every one of its batches in ``failed_seqs``: none of them replaced
        anything, so the sync core keeps those members as they were and fails the run loudly."""
        sid = session.handle.get("session_id")
        stats: dict[str, Any] = {"session_id": str(sid), "operation": session.operation}
        retained = int(session.handle.get("retained_not_sent", 0))
        if retained:
            # Meta removes people, not identifiers: a row naming a member who stays could remove them
            stats["retained_not_sent"] = retained
        if session.handle.get("ended"):
            batches = int(session.handle.get("last_seq", 0))
            stats["failed_seqs"] = list(range(1, batches + 1))
            stats["failed_reasons"] = {"replace_session_ended": batches}
            stats["ended_subcode"] = session.handle["ended"]
            return stats
        try:
            response = self._guarded(
                "read upload sessions",
                lambda: self.api.call("GET", (audience_id, "sessions"), params={"session_id": sid}),
            )
        except PlatformError:
            return stats  # the upload itself is done; progress figures are informative
        for entry in (response.json() or {}).get("data", []):
            if str(entry.get("session_id")) == str(sid):
                for key in ("num_received", "num_matched", "num_invalid_entries", "stage"):
                    if key in entry:
                        stats[key] = entry[key]
        return stats

    def describe(self, audience_id: str) -> dict[str, Any]:
        from facebook_business.adobjects.customaudience import CustomAudience

        fields = [
            "id",
            "name",
            "approximate_count_lower_bound",
            "approximate_count_upper_bound",
            "operation_status",
            "delivery_status",
        ]
        audience = self._guarded(
            "read custom audience", lambda: CustomAudience(audience_id, api=self.api).api_get(fields=fields)
        )
        out = {key: audience.get(key) for key in fields}
        for key in ("operation_status", "delivery_status"):
            value = out.get(key)
            if value is not None and not isinstance(value, dict | int | str):
                out[key] = dict(value)
        out.update(
            approximate_size(
                out.get("approximate_count_lower_bound"), out.get("approximate_count_upper_bound")
            )
        )
        return out


def approximate_size(lower: Any, upper: Any) -> dict[str, Any]:
    """How to read Meta's size figures: a delayed, rounded range (up to 24 h behind the last sync), never a count.
    Meta reports -1 where it does not disclose the size (audiences too small)."""
    try:
        low, high = int(lower), int(upper)
    except (TypeError, ValueError):
        return {"size_is_approximate": True, "size_range": None}
    if low < 0 or high < 0:
        return {
            "size_is_approximate": True,
            "size_range": None,
            "size_note": "not disclosed by Meta (too small)",
        }
    return {
        "size_is_approximate": True,
        "size_range": [low, high],
        "size_note": "Meta's estimate: rounded, and up to 24 h behind the last change",
    }
