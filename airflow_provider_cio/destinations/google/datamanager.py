"""Google Customer Match through the Data Manager API (``google-ads-datamanager``): Google's path for new callers.

Data Manager cannot create or look up user lists: the Customer Match list is created in Google Ads and its id
(``product_destination_id``) comes from configuration: ``user_list_ids``, keyed by the platform audience name (the
name the Google Ads backend would give the list, ``cio/{env}/{workspace}/{audience}`` unless overridden). One list id
mapped from two names is refused: two audiences mirroring into one list remove each other's members.

Google accepts a request at once and processes it later (minutes to many hours), and a request can still fail
after it was accepted. So every request id is kept in the session handle under its batch ``seq``, and
``close_session`` polls them, with backoff, until each reaches a final status; the batches whose requests did not
end SUCCESS come back as ``failed_seqs`` so the sync core re-sends them next time instead of calling them synced.

Replace is ``add_then_sweep`` and never empties the list: upload every member, wait until every upload ended
SUCCESS, then ``remove_all_audience_members`` with ``remove_as_of_time`` = session start minus
``sweep_margin_seconds`` ("only audience members last added before this time will be removed"): the departed go,
everyone just uploaded stays. If an upload failed there is no sweep (nobody is wiped; the failed seqs are
reported). A remove-all with that cutoff can be repeated without harm, so a lost sweep id only costs a request.
The former ``clear_first`` (remove everyone, then upload) is gone: the list sat empty while the ingest was pending,
and a retry of an unfinished clear sent a second remove-all.

A removal matches people, not single identifiers: a member who stays (``Member.retained``) and lost an identifier is
never sent in a removal, since the row could match and remove them; the lost value lapses with the membership life
span or goes with the next replace's sweep. Members without ad consent are left out of uploads and counted (one
denied consent can fail the whole request); in an add session they are also sent in a removal of the same batch, so
a member who withdrew consent leaves the list instead of staying until it lapses.
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
from airflow_provider_cio.destinations.google.membership import (
    MAX_MEMBERSHIP_LIFE_SPAN_DAYS,
    checked_membership,
)
from airflow_provider_cio.sync.destination import BatchResult, Destination, Member, Operation, SessionState
from airflow_provider_cio.sync.errors import (
    ConfigurationError,
    GuardrailBlocked,
    PlatformError,
    StillProcessing,
)

log = logging.getLogger(__name__)

MAX_MEMBERS_PER_REQUEST = 10_000
MAX_IDENTIFIERS_PER_MEMBER = 10
FINAL = frozenset({"SUCCESS", "PARTIAL_SUCCESS", "FAILED"})
REQUEST_FAILED = "REQUEST_FAILED"  # a final non-SUCCESS status that came without error counts
STATUS_NOT_FOUND = "REQUEST_STATUS_NOT_FOUND"  # Google no longer knows the request: not provably applied
ReplaceMode = Literal["add_then_sweep"]


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


class DataManagerDestination(Destination):
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
        replace_mode: ReplaceMode = "add_then_sweep",
        sweep_margin_seconds: float = 300.0,
        poll_interval_seconds: float = 5.0,
        poll_max_interval_seconds: float = 1800.0,
        poll_budget_seconds: float = 6 * 3600.0,
        membership_life_span_days: int = MAX_MEMBERSHIP_LIFE_SPAN_DAYS,
        refresh_after_days: int | None = None,
        timeout_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if not operating_account_id.replace("-", "").isdigit():
            raise ConfigurationError(
                "data manager: operating_account_id must be a Google Ads customer id (digits)"
            )
        if replace_mode != "add_then_sweep":
            raise ConfigurationError(
                f"data manager: replace_mode {replace_mode!r} is not supported; 'add_then_sweep' is the only mode "
                "('clear_first' emptied the live list while Google processed the upload)"
            )
        span, refresh = checked_membership("data manager", membership_life_span_days, refresh_after_days)
        if poll_interval_seconds <= 0 or poll_max_interval_seconds < poll_interval_seconds:
            raise ConfigurationError(
                "data manager: poll_interval_seconds must be > 0 and <= poll_max_interval_seconds"
            )
        self.client = client
        self.operating_account_id = operating_account_id.replace("-", "")
        self.login_account_id = login_account_id.replace("-", "") if login_account_id else None
        self.user_list_ids = {str(name): str(list_id) for name, list_id in (user_list_ids or {}).items()}
        self.replace_mode = replace_mode
        self.sweep_margin_seconds = sweep_margin_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.poll_max_interval_seconds = poll_max_interval_seconds
        self.poll_budget_seconds = poll_budget_seconds
        self.membership_life_span_days = span
        self.refresh_after_days: int | None = refresh
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
        """A local session: nothing is sent until the first batch (a replace fixes its sweep cutoff now)."""
        handle: dict[str, Any] = {"backend": "data_manager", "requests": {}, "status": {}}
        if operation == "replace":
            if total_members <= 0:
                raise GuardrailBlocked(
                    "empty_replace",
                    "a replace with zero members would wipe the Google audience",
                    override="send explicit removals instead of a replace",
                )
            cutoff = self.now() - dt.timedelta(seconds=self.sweep_margin_seconds)
            self._check_cutoff(audience_id, cutoff)
            handle["replace_mode"] = self.replace_mode
            handle["sweep_cutoff"] = cutoff.isoformat()
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
        """Send one batch; members that may not be uploaded (no ad consent, invalid identifiers) are left out and
        counted by index, never sent: one denied consent can fail a whole Google request."""
        removing = session.operation == "remove"
        failed: list[int] = []
        reasons: dict[str, int] = {}
        members: list[Any] = []
        # no ad consent: never uploaded, and taken out in case an earlier run added them
        withdrawn: list[Any] = []
        uploaded: set[str] = set()  # identifier values this batch uploads: no removal may name them
        retained = 0
        for index, member in enumerate(batch):
            if removing and member.retained:
                # The person stays: Google removes whoever a removal matches, so their lost identifiers are not sent
                # (they lapse with the membership life span, or go with the next replace's sweep).
                retained += 1
                continue
            if not removing and not member.consent:
                failed.append(index)
                reasons[CONSENT_NOT_GRANTED] = reasons.get(CONSENT_NOT_GRANTED, 0) + 1
                if session.operation == "add":  # a replace's sweep already takes them out
                    withdrawn.append(member)
                continue
            audience_member, problem = self._audience_member(member, with_consent=not removing)
            if audience_member is None:
                failed.append(index)
                reason = problem or "INVALID"
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            members.append(audience_member)
            uploaded.update(v for values in member.identifiers.values() for v in values)
        withdrawn = self._removals_sparing(withdrawn, uploaded)
        request_ids: list[str] = []
        sizes: dict[str, int] = session.handle.setdefault("sizes", {})
        for group, as_removal in ((members, removing), (withdrawn, True)):
            for start in range(0, len(group), MAX_MEMBERS_PER_REQUEST):
                chunk = group[start : start + MAX_MEMBERS_PER_REQUEST]
                request_ids.append(self._send(audience_id, chunk, removing=as_removal))
                sizes[request_ids[-1]] = len(chunk)
        if withdrawn:
            session.handle.setdefault("consent_removals", {})[str(seq)] = len(withdrawn)
        # A re-sent seq (a retried attempt) replaces its ids: re-adding is idempotent on Google.
        session.handle.setdefault("requests", {})[str(seq)] = request_ids
        if retained:
            session.handle.setdefault("retained_not_sent", {})[str(seq)] = retained
        log.info(
            "data manager %s batch %s: %s sent, %s left out, requests %s",
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
        """Wait (backoff, capped, within ``poll_budget_seconds``) for every request of the session to end; a replace
        whose uploads all succeeded then sweeps the departed. PII-free stats with ``failed_seqs``/``failed_reasons``.

        The budget spent raises ``PlatformError`` with ``retry_after``; a retry polls the same requests again (their
        ids are in the handle) and sends nothing twice."""
        interval = self.poll_interval_seconds
        waited = 0.0
        polls = 0
        while True:
            polls += 1
            sweeps = session.handle.get("sweep_request_id")
            if self.step(audience_id, session):
                break
            if session.handle.get("sweep_request_id") != sweeps:
                interval = self.poll_interval_seconds  # a new request: start the backoff again
            if waited + interval > self.poll_budget_seconds:
                pending = len(self._pending(session))
                raise StillProcessing(
                    f"data manager: {pending} request(s) still PROCESSING after {waited:.0f}s of polling (budget "
                    f"{self.poll_budget_seconds:.0f}s); Google processes requests asynchronously, so the retry "
                    "polls the same requests again and sends nothing twice",
                    retry_after=interval,
                )
            self.sleep(interval)
            waited += interval
            interval = min(interval * 2, self.poll_max_interval_seconds)
        stats = self._stats(session)
        stats["polls"] = polls
        stats["user_list_id"] = audience_id
        stats["operation"] = session.operation
        return stats

    def step(self, audience_id: str, session: SessionState) -> bool:
        """One non-sleeping step of closing: poll once; when every upload is final and a replace's sweep is due,
        send it. True when the session is finished (``close_session`` loops on this; a trigger can too)."""
        if not self.poll_once(session):
            return False
        if not self._sweep_due(session):
            return True
        self._sweep(audience_id, session)
        return False

    def poll_once(self, session: SessionState) -> bool:
        """Read the status of every request of ``session`` not yet final, once, without sleeping; record the final
        ones in the handle. True when none is left pending (a deferrable trigger can call this)."""
        from google.api_core import exceptions as gexc

        statuses: dict[str, Any] = session.handle.setdefault("status", {})
        for request_id in self._pending(session):
            try:
                response = self.client.retrieve_request_status(
                    request={"request_id": request_id}, timeout=self.timeout_seconds
                )
            except gexc.NotFound:
                statuses[request_id] = {"status": "FAILED", "errors": {}, "reason": STATUS_NOT_FOUND}
                continue
            except Exception as exc:
                raise classify_data_manager(exc, action="retrieve_request_status") from exc
            summary = _summarize(list(response.request_status_per_destination))
            if summary is not None:
                statuses[request_id] = summary
        return not self._pending(session)

    def bound_worker_wait(self, seconds: float) -> None:
        """Poll request statuses at most ``seconds`` in the worker (a deferrable sync waits longer as a deferral)."""
        self.poll_budget_seconds = min(self.poll_budget_seconds, seconds)

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
    def _audience_member(self, member: Member, *, with_consent: bool) -> tuple[Any, str | None]:
        from google.ads import datamanager_v1 as dm

        ids, problem = extract(member, max_identifiers=MAX_IDENTIFIERS_PER_MEMBER)
        if ids is None:
            return None, problem
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
        if with_consent:  # per member: "User-level consent overrides request-level consent"
            granted = dm.ConsentStatus.CONSENT_GRANTED
            audience_member.consent = dm.Consent(ad_user_data=granted, ad_personalization=granted)
        return audience_member, None

    def _removals_sparing(self, members: list[Member], kept: set[str]) -> list[Any]:
        """Removal rows for ``members`` without any identifier value in ``kept`` (a household phone shared with a
        member who is uploaded must not take that member out); a member with nothing left is not sent."""
        rows = []
        for member in members:
            spared = {
                kind: tuple(v for v in values if v not in kept) for kind, values in member.identifiers.items()
            }
            row, _ = self._audience_member(
                Member(member.customer_id, {k: v for k, v in spared.items() if v}), with_consent=False
            )
            if row is not None:
                rows.append(row)
        return rows

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

    def _pending(self, session: SessionState) -> list[str]:
        """Request ids of the session (uploads, then the sweep) without a final status yet."""
        statuses = session.handle.get("status", {})
        ids = [rid for seq_ids in session.handle.get("requests", {}).values() for rid in seq_ids]
        if session.handle.get("sweep_request_id"):
            ids.append(session.handle["sweep_request_id"])
        return [rid for rid in dict.fromkeys(ids) if rid not in statuses]

    def _failed_seqs(self, session: SessionState) -> list[int]:
        statuses = session.handle.get("status", {})
        return sorted(
            int(seq)
            for seq, ids in session.handle.get("requests", {}).items()
            if any(statuses.get(rid, {}).get("status") != "SUCCESS" for rid in ids)
        )

    def _sweep_due(self, session: SessionState) -> bool:
        """A replace sweeps once, and only after every upload ended SUCCESS (else the old members stay)."""
        if session.operation != "replace" or self._failed_seqs(session):
            return False
        sweep_id = session.handle.get("sweep_request_id")
        if sweep_id is None:
            if not any(session.handle.get("sizes", {}).values()):
                raise GuardrailBlocked(
                    "empty_replace",
                    "every member of this replace was left out (no ad consent or no valid identifier), so the "
                    "sweep would empty the Google audience; nothing was removed",
                    override="check the consent and identifier columns of the audience, or send explicit removals",
                )
            return True
        if session.handle["status"].get(sweep_id, {}).get("status") == "SUCCESS":
            return False
        # The sweep itself failed: the same cutoff again is harmless (it spares everyone uploaded since).
        session.handle.setdefault("failed_sweeps", []).append(sweep_id)
        if len(session.handle["failed_sweeps"]) >= 3:
            raise PlatformError(
                f"data manager: the replace's sweep (remove-all as of {session.handle['sweep_cutoff']}) failed "
                f"{len(session.handle['failed_sweeps'])} times; departed members are still in the list, the "
                "uploads are complete; the retry sweeps again",
                retry_after=self.poll_max_interval_seconds,
            )
        return True

    def _check_cutoff(self, audience_id: str, cutoff: dt.datetime) -> None:
        """Ask Google (validate only, nothing removed) whether ``cutoff`` is already past on its clock.

        The sweep removes members "last added before" the cutoff on Google's clock. If our clock ran ahead of
        Google's by more than the margin, the cutoff would still lie ahead of Google when this session's uploads
        land, and the sweep would remove them too. Google refuses a remove-as-of time in its future, so a refusal
        now means exactly that danger; an acceptance means every upload sent from now on is after the cutoff."""
        from google.ads import datamanager_v1 as dm

        request = dm.RemoveAllAudienceMembersRequest(
            destinations=[self._destination(audience_id)], remove_as_of_time=cutoff, validate_only=True
        )
        try:
            self.client.remove_all_audience_members(request=request, timeout=self.timeout_seconds)
        except Exception as exc:
            if getattr(exc, "reason", None) == "INVALID_REMOVE_AS_OF_TIME":
                raise ConfigurationError(
                    f"data manager: this worker's clock is ahead of Google's by more than sweep_margin_seconds "
                    f"({self.sweep_margin_seconds:.0f}s); a replace now would remove the members it uploads - "
                    "nothing was sent",
                    who_must_act="whoever runs the workers (synchronize their clocks, NTP)",
                ) from exc
            raise classify_data_manager(exc, action="remove_all (validate only)") from exc

    def _sweep(self, audience_id: str, session: SessionState) -> None:
        from google.ads import datamanager_v1 as dm

        cutoff = dt.datetime.fromisoformat(session.handle["sweep_cutoff"])
        request = dm.RemoveAllAudienceMembersRequest(
            destinations=[self._destination(audience_id)], remove_as_of_time=cutoff
        )
        try:
            response = self.client.remove_all_audience_members(request=request, timeout=self.timeout_seconds)
        except Exception as exc:
            raise classify_data_manager(exc, action="remove_all") from exc
        session.handle["sweep_request_id"] = str(response.request_id)
        log.info("data manager replace: uploads complete, sweep as of %s sent", cutoff.isoformat())

    def _stats(self, session: SessionState) -> dict[str, Any]:
        """Aggregate of the final statuses; every member of a non-SUCCESS request counts as not applied."""
        handle = session.handle
        statuses: dict[str, dict[str, Any]] = handle.get("status", {})
        sweep_id = handle.get("sweep_request_id")
        counts: dict[str, int] = {}
        errors: dict[str, int] = {}
        match_rates: dict[str, int] = {}
        failed_reasons: dict[str, int] = {}
        records = identifiers = requests = 0
        for seq_ids in handle.get("requests", {}).values():
            for rid in seq_ids:
                entry = statuses[rid]
                requests += 1
                counts[entry["status"]] = counts.get(entry["status"], 0) + 1
                records += int(entry.get("records", 0))
                identifiers += int(entry.get("identifiers", 0))
                if entry.get("match_rate"):
                    match_rates[entry["match_rate"]] = match_rates.get(entry["match_rate"], 0) + 1
                for reason, n in entry.get("errors", {}).items():
                    errors[reason] = errors.get(reason, 0) + int(n)
                if entry["status"] != "SUCCESS":
                    sent = int(handle.get("sizes", {}).get(rid, entry.get("records", 0)))
                    reasons = entry.get("errors") or {entry.get("reason", REQUEST_FAILED): sent}
                    for reason, n in reasons.items():
                        failed_reasons[reason] = failed_reasons.get(reason, 0) + int(n)
        stats: dict[str, Any] = {
            "requests": requests,
            "statuses": counts,
            "record_count": records,
            "user_identifier_count": identifiers,
            "error_counts": errors,
            "upload_match_rate_ranges": match_rates,
        }
        if handle.get("consent_removals"):
            stats["consent_removals"] = sum(int(n) for n in handle["consent_removals"].values())
        if handle.get("retained_not_sent"):
            stats["retained_not_sent"] = sum(int(n) for n in handle["retained_not_sent"].values())
        failed_seqs = self._failed_seqs(session)
        if failed_seqs:
            stats["failed_seqs"] = failed_seqs
            stats["failed_reasons"] = failed_reasons
        if session.operation == "replace":
            if failed_seqs:
                stats["sweep_status"] = "SKIPPED"  # nobody is removed while an upload is missing
            else:
                stats["sweep_status"] = statuses.get(sweep_id or "", {}).get("status", "NOT_SENT")
            stats["sweep_cutoff"] = handle.get("sweep_cutoff")
        return stats


def _summarize(entries: list[Any]) -> dict[str, Any] | None:
    """One request's final outcome over its destinations (JSON-able), or None while any is still processing.

    The worst destination status wins: FAILED > PARTIAL_SUCCESS > SUCCESS."""
    if not entries:
        return None
    names = [entry.request_status.name for entry in entries]
    if any(name not in FINAL for name in names):
        return None
    status = next(s for s in ("FAILED", "PARTIAL_SUCCESS", "SUCCESS") if s in names)
    summary: dict[str, Any] = {"status": status}
    errors: dict[str, int] = {}
    records = identifiers = 0
    rate = None
    for entry in entries:
        for count in entry.error_info.error_counts:
            errors[count.reason.name] = errors.get(count.reason.name, 0) + int(count.record_count)
        which = entry._pb.WhichOneof("status")
        if which == "audience_members_ingestion_status":
            ingested = entry.audience_members_ingestion_status.user_data_ingestion_status
            records = max(records, int(ingested.record_count))
            identifiers = max(identifiers, int(ingested.user_identifier_count))
            rate = ingested.upload_match_rate_range.name
        elif which == "audience_members_removal_status":
            removed = entry.audience_members_removal_status.user_data_removal_status
            records = max(records, int(removed.record_count))
            identifiers = max(identifiers, int(removed.user_identifier_count))
    summary.update(records=records, identifiers=identifiers, errors=errors)
    if rate:
        summary["match_rate"] = rate
    return summary
