"""Google Customer Match through the Data Manager API (``google-ads-datamanager``): Google's path for new callers.

Data Manager cannot create or look up user lists: the Customer Match list is created in Google Ads and its id
(``product_destination_id``) comes from configuration: ``user_list_ids``, keyed by the platform audience name (the
name the Google Ads backend would give the list, ``cio/{env}/{workspace}/{audience}`` unless overridden). One list id
mapped from two names is refused: two audiences mirroring into one list remove each other's members.

Replace has two modes:

- ``clear_first`` (default, as the issue specifies): ``remove_all_audience_members`` is sent and polled until it is
  no longer PROCESSING before the first ingest. The list is EMPTY between the two; a crash there leaves it empty
  until the re-run completes.
- ``add_then_sweep`` (never empties the list): ingest every member first, then ``remove_all_audience_members`` with
  ``remove_as_of_time`` = session start minus ``sweep_margin_seconds`` - Google removes only members last added
  before that time, i.e. the departed ones. The margin absorbs clock skew between us and Google (a member added
  within the margin before the run and departed since stays one more run).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from airflow_provider_cio.destinations.google.errors import classify_data_manager
from airflow_provider_cio.destinations.google.identifiers import CONSENT_NOT_GRANTED, extract
from airflow_provider_cio.sync.destination import BatchResult, Member, Operation, SessionState
from airflow_provider_cio.sync.errors import ConfigurationError, GuardrailBlocked, PlatformError

log = logging.getLogger(__name__)

MAX_MEMBERS_PER_REQUEST = 10_000
MAX_IDENTIFIERS_PER_MEMBER = 10
ReplaceMode = Literal["clear_first", "add_then_sweep"]


def build_ingestion_client(
    *,
    credentials: Any = None,
    endpoint: str | None = None,
    channel: Any = None,
) -> Any:
    """An ``IngestionServiceClient``: production passes ``credentials`` (OAuth, scope ``datamanager``); tests and
    the devstack pass a ready ``channel`` (e.g. ``grpc.secure_channel(target, ssl_channel_credentials(cert))`` or
    ``grpc.insecure_channel(target)``), which makes the transport ignore credentials."""
    from google.ads import datamanager_v1
    from google.ads.datamanager_v1.services.ingestion_service.transports import IngestionServiceGrpcTransport
    from google.api_core.client_options import ClientOptions

    if channel is not None:
        return datamanager_v1.IngestionServiceClient(transport=IngestionServiceGrpcTransport(channel=channel))
    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    return datamanager_v1.IngestionServiceClient(credentials=credentials, client_options=options)


class DataManagerDestination:
    """``Destination`` for Google (platform "google") on the Data Manager IngestionService."""

    platform = "google"
    max_batch_size = MAX_MEMBERS_PER_REQUEST
    max_identifiers_per_member = MAX_IDENTIFIERS_PER_MEMBER  # what the API takes; more are left out

    def __init__(
        self,
        client: Any,
        *,
        operating_account_id: str,
        user_list_ids: Mapping[str, str] | None = None,
        login_account_id: str | None = None,
        replace_mode: ReplaceMode = "clear_first",
        sweep_margin_seconds: float = 300.0,
        poll_interval_seconds: float = 10.0,
        max_polls: int = 90,
        timeout_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if not operating_account_id.replace("-", "").isdigit():
            raise ConfigurationError(
                "data manager: operating_account_id must be a Google Ads customer id (digits)"
            )
        if replace_mode not in ("clear_first", "add_then_sweep"):
            raise ConfigurationError(f"data manager: unknown replace_mode {replace_mode!r}")
        self.client = client
        self.operating_account_id = operating_account_id.replace("-", "")
        self.login_account_id = login_account_id.replace("-", "") if login_account_id else None
        self.user_list_ids = {str(name): str(list_id) for name, list_id in (user_list_ids or {}).items()}
        self.replace_mode = replace_mode
        self.sweep_margin_seconds = sweep_margin_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.max_polls = max_polls
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep
        self.now = now

    # -- Destination ------------------------------------------------------------------------------------------
    def ensure_audience(self, name: str, *, description: str = "", known_id: str | None = None) -> str:
        """The configured user list id for ``name``: Data Manager has no list creation or lookup by name. A mapping
        changed to another list makes the sync upload in full (the id differs from ``known_id``)."""
        list_id = self.user_list_ids.get(name)
        if not list_id:
            raise ConfigurationError(
                f"data manager: no user list id configured for platform audience {name!r}; Data Manager cannot "
                "create Customer Match lists - create it in Google Ads (or with the Google Ads backend) and add "
                f'"{name}": "<list id>" to user_list_ids on the connection',
                who_must_act="the owner of the Google connection",
            )
        if not list_id.isdigit():
            raise ConfigurationError(f"data manager: user list id for {name!r} must be numeric")
        shared = sorted(
            other for other, other_id in self.user_list_ids.items() if other_id == list_id and other != name
        )
        if shared:
            raise ConfigurationError(
                f"data manager: user list {list_id} is mapped from {name!r} and from {shared} in user_list_ids; "
                "audiences mirroring into one list remove each other's members - give each its own list",
                who_must_act="the owner of the Google connection",
            )
        return list_id

    def open_session(self, audience_id: str, operation: Operation, *, total_members: int) -> SessionState:
        handle: dict[str, Any] = {"backend": "data_manager", "request_ids": []}
        session = SessionState(operation=operation, handle=handle)
        if operation != "replace":
            return session
        if total_members <= 0:
            raise GuardrailBlocked(
                "empty_replace",
                "a replace with zero members would wipe the Google audience",
                override="send explicit removals instead of a replace",
            )
        handle["replace_mode"] = self.replace_mode
        if self.replace_mode == "clear_first":
            request_id = self._remove_all(audience_id, as_of=None)
            handle["remove_all_request_id"] = request_id
            self._wait([request_id])  # the clear must complete before any add
            handle["cleared"] = True
        else:
            cutoff = self.now() - dt.timedelta(seconds=self.sweep_margin_seconds)
            handle["sweep_cutoff"] = cutoff.isoformat()
        return session

    def send_batch(
        self,
        audience_id: str,
        session: SessionState,
        batch: Sequence[Member],
        *,
        seq: int,
        last: bool,
    ) -> BatchResult:
        from google.ads import datamanager_v1 as dm

        if (
            session.operation == "replace"
            and self.replace_mode == "clear_first"
            and not session.handle.get("cleared")
        ):
            raise PlatformError(
                "data manager: replace session was not cleared before adds; reopen the session"
            )
        removing = session.operation == "remove"
        failed: list[int] = []
        reasons: dict[str, int] = {}
        members: list[Any] = []
        for index, member in enumerate(batch):
            ids, problem = extract(member, max_identifiers=MAX_IDENTIFIERS_PER_MEMBER)
            if ids is None:
                failed.append(index)
                reasons[problem or "INVALID"] = reasons.get(problem or "INVALID", 0) + 1
                continue
            identifiers = [dm.UserIdentifier(email_address=e) for e in ids.emails]
            identifiers += [dm.UserIdentifier(phone_number=p) for p in ids.phones]
            if ids.address:
                a = ids.address
                identifiers.append(
                    dm.UserIdentifier(
                        address=dm.AddressInfo(
                            given_name=a.given_name,
                            family_name=a.family_name,
                            region_code=a.region_code,
                            postal_code=a.postal_code,
                        )
                    )
                )
            audience_member = dm.AudienceMember(user_data=dm.UserData(user_identifiers=identifiers))
            if not removing:
                status = (
                    dm.ConsentStatus.CONSENT_GRANTED if member.consent else dm.ConsentStatus.CONSENT_DENIED
                )
                audience_member.consent = dm.Consent(ad_user_data=status, ad_personalization=status)
                if not member.consent:
                    reasons[CONSENT_NOT_GRANTED] = reasons.get(CONSENT_NOT_GRANTED, 0) + 1
            members.append(audience_member)
        request_ids: list[str] = []
        for start in range(0, len(members), MAX_MEMBERS_PER_REQUEST):
            chunk = members[start : start + MAX_MEMBERS_PER_REQUEST]
            request_ids.append(self._send(audience_id, chunk, removing=removing))
        session.handle.setdefault("request_ids", []).extend(request_ids)
        log.info(
            "data manager %s batch %s: %s sent, %s refused locally, requests %s",
            session.operation,
            seq,
            len(members),
            len(failed),
            len(request_ids),
        )
        return BatchResult(
            received=len(members),
            invalid=len(failed),
            request_id=request_ids[-1] if request_ids else None,
            failed_indexes=tuple(failed),
            failure_reasons=reasons,
        )

    def close_session(self, audience_id: str, session: SessionState) -> dict[str, Any]:
        """Wait for every request of the session, then (add_then_sweep) remove the departed; PII-free stats."""
        request_ids = list(session.handle.get("request_ids", []))
        stats = self._wait(request_ids)
        if session.operation == "replace" and session.handle.get("replace_mode") == "add_then_sweep":
            sweep_id = session.handle.get("sweep_request_id")
            if not sweep_id:
                cutoff = dt.datetime.fromisoformat(session.handle["sweep_cutoff"])
                sweep_id = self._remove_all(audience_id, as_of=cutoff)
                session.handle["sweep_request_id"] = sweep_id
            sweep = self._wait([sweep_id])
            stats["sweep_status"] = sweep["statuses"]
        stats["user_list_id"] = audience_id
        stats["operation"] = session.operation
        return stats

    def describe(self, audience_id: str) -> dict[str, Any]:
        """Data Manager's IngestionService reports no list size; say so rather than invent a number."""
        return {
            "user_list_id": audience_id,
            "backend": "data_manager",
            "size_for_display": None,
            "note": "list sizes are not exposed by the Data Manager IngestionService; see Google Ads",
        }

    def ping(self) -> bool:
        """One cheap authenticated call: the status of a request id that cannot exist (NOT_FOUND = reachable)."""
        from google.api_core import exceptions as gexc

        try:
            self.client.retrieve_request_status(
                request={"request_id": f"ping-{uuid.uuid4()}"}, timeout=self.timeout_seconds
            )
        except gexc.NotFound:
            return True
        except Exception as exc:
            raise classify_data_manager(exc, action="ping") from exc
        return True

    # -- internals ------------------------------------------------------------------------------------------
    def _destination(self, audience_id: str) -> Any:
        from google.ads import datamanager_v1 as dm

        kind = dm.ProductAccount.AccountType.GOOGLE_ADS
        dest = dm.Destination(
            operating_account=dm.ProductAccount(account_id=self.operating_account_id, account_type=kind),
            product_destination_id=audience_id,
        )
        if self.login_account_id:
            dest.login_account = dm.ProductAccount(account_id=self.login_account_id, account_type=kind)
        return dest

    def _send(self, audience_id: str, members: list[Any], *, removing: bool) -> str:
        from google.ads import datamanager_v1 as dm

        try:
            if removing:
                remove_response = self.client.remove_audience_members(
                    request=dm.RemoveAudienceMembersRequest(
                        destinations=[self._destination(audience_id)],
                        audience_members=members,
                        encoding=dm.Encoding.HEX,
                    ),
                    timeout=self.timeout_seconds,
                )
                return str(remove_response.request_id)
            ingest_response = self.client.ingest_audience_members(
                request=dm.IngestAudienceMembersRequest(
                    destinations=[self._destination(audience_id)],
                    audience_members=members,
                    encoding=dm.Encoding.HEX,
                    terms_of_service=dm.TermsOfService(
                        customer_match_terms_of_service_status=dm.TermsOfServiceStatus.ACCEPTED
                    ),
                ),
                timeout=self.timeout_seconds,
            )
            return str(ingest_response.request_id)
        except Exception as exc:
            raise classify_data_manager(exc, action="remove" if removing else "ingest") from exc

    def _remove_all(self, audience_id: str, *, as_of: dt.datetime | None) -> str:
        from google.ads import datamanager_v1 as dm

        request = dm.RemoveAllAudienceMembersRequest(destinations=[self._destination(audience_id)])
        if as_of is not None:
            request.remove_as_of_time = as_of
        try:
            response = self.client.remove_all_audience_members(request=request, timeout=self.timeout_seconds)
        except Exception as exc:
            raise classify_data_manager(exc, action="remove_all") from exc
        return str(response.request_id)

    def _wait(self, request_ids: list[str]) -> dict[str, Any]:
        """Poll each request until it is no longer PROCESSING (bounded); aggregate counts and match rates."""
        pending = list(dict.fromkeys(request_ids))
        done: dict[str, Any] = {}
        polls = 0
        while pending:
            still: list[str] = []
            for request_id in pending:
                try:
                    response = self.client.retrieve_request_status(
                        request={"request_id": request_id}, timeout=self.timeout_seconds
                    )
                except Exception as exc:
                    raise classify_data_manager(exc, action="retrieve_request_status") from exc
                entries = list(response.request_status_per_destination)
                if any(e.request_status.name == "PROCESSING" for e in entries) or not entries:
                    still.append(request_id)
                else:
                    done[request_id] = entries
            pending = still
            polls += 1
            if pending:
                if polls >= self.max_polls:
                    raise PlatformError(
                        f"data manager: {len(pending)} request(s) still PROCESSING after {polls} polls",
                        retry_after=self.poll_interval_seconds,
                    )
                self.sleep(self.poll_interval_seconds)
        return _aggregate(done, polls)


def _aggregate(done: Mapping[str, list[Any]], polls: int) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    match_rates: dict[str, int] = {}
    records = identifiers = 0
    for entries in done.values():
        for entry in entries:
            name = entry.request_status.name
            statuses[name] = statuses.get(name, 0) + 1
            for count in entry.error_info.error_counts:
                reason = count.reason.name
                errors[reason] = errors.get(reason, 0) + int(count.record_count)
            which = entry._pb.WhichOneof("status")
            if which == "audience_members_ingestion_status":
                status = entry.audience_members_ingestion_status.user_data_ingestion_status
                records += int(status.record_count)
                identifiers += int(status.user_identifier_count)
                rate = status.upload_match_rate_range.name
                match_rates[rate] = match_rates.get(rate, 0) + 1
            elif which == "audience_members_removal_status":
                status = entry.audience_members_removal_status.user_data_removal_status
                records += int(status.record_count)
                identifiers += int(status.user_identifier_count)
    return {
        "requests": len(done),
        "polls": polls,
        "statuses": statuses,
        "record_count": records,
        "user_identifier_count": identifiers,
        "error_counts": errors,
        "upload_match_rate_ranges": match_rates,
    }
