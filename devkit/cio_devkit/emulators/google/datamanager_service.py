"""``google.ads.datamanager.v1.IngestionService`` as the emulator serves it (audience members + request status).

Validation mirrors the documented limits: 10 destinations, 10,000 members per request, 10 identifiers per member,
SHA-256 identifiers in the request's ``encoding`` (HEX or BASE64), Customer Match terms accepted. Request-level
failures are gRPC statuses carrying google.rpc details (ErrorInfo reason, BadRequest field violations, RetryInfo),
which google-api-core decodes into ``exc.reason`` / ``exc.details``.

Asynchronous like the real service: every ingest, remove and remove-all is accepted at once (a request id comes
back) and applied ``settings.dm_processing_seconds`` later on the emulator's clock; until then its status is
PROCESSING, after it SUCCESS / PARTIAL_SUCCESS / FAILED ("Records can still fail during asynchronous processing",
Data Manager API diagnostics, https://developers.google.com/data-manager/api/devguides/diagnostics). Due requests
are processed lazily, in due order, whenever anything reads or writes the state, which is what an observer sees of
a background worker. A member's "last added" time is when its ingest was processed.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from cio_devkit.emulators.google.settings import enum_member, match_rate_bucket
from cio_devkit.emulators.google.state import SHA256_HEX, DmRequest, UserList

if TYPE_CHECKING:
    from cio_devkit.emulators.google.server import EmulatorCore

SERVICE = "google.ads.datamanager.v1.IngestionService"
_DOMAIN = "datamanager.googleapis.com"
# "At most 10000 AudienceMember resources can be sent in a single request" (IngestAudienceMembersRequest,
# https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/ingest)
MAX_MEMBERS = 10_000
# "At most 10 userIdentifiers can be provided in a single AudienceMember or Event" (UserData,
# https://developers.google.com/data-manager/api/reference/rest/v1/UserData)
MAX_IDENTIFIERS = 10
# 10 destinations per request: the package's TOO_MANY_DESTINATIONS reason and our reference notes; the number itself
# is not confirmed on a Google page (see the report of issue 15)
MAX_DESTINATIONS = 10


def abort(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    reason: str,
    message: str,
    *,
    retry_delay_seconds: float | None = None,
    violations: list[tuple[str, str]] | None = None,
) -> NoReturn:
    """Fail the call the way Google APIs do: status code + google.rpc.Status details in trailing metadata."""
    from google.protobuf import any_pb2, duration_pb2
    from google.rpc import error_details_pb2, status_pb2
    from grpc_status import rpc_status

    details = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=_DOMAIN))
    details.append(info)
    if violations:
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=f, description=d, reason=reason)
                    for f, d in violations
                ]
            )
        )
        details.append(bad)
    if retry_delay_seconds is not None:
        retry = any_pb2.Any()
        seconds = int(retry_delay_seconds)
        retry.Pack(
            error_details_pb2.RetryInfo(
                retry_delay=duration_pb2.Duration(
                    seconds=seconds, nanos=int((retry_delay_seconds - seconds) * 1e9)
                )
            )
        )
        details.append(retry)
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    context.abort_with_status(rpc_status.to_status(status))
    raise AssertionError("unreachable")  # abort_with_status raises


def _hashed_key(value: str, encoding: int) -> tuple[str, str | None]:
    """A hashed identifier as lower-case hex, or the reason it is refused.

    "Hash the email address using the SHA-256 algorithm. Encode the hash bytes using hexadecimal (hex) or Base64
    encoding" ("Send audience members", https://developers.google.com/data-manager/api/devguides/audiences/send-audience-members);
    the request's ``encoding`` says which ("Encoding", https://developers.google.com/data-manager/api/reference/rest/v1/Encoding).
    """
    if encoding == 2:  # BASE64
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return "", "INVALID_BASE64_ENCODING"
        return (raw.hex(), None) if len(raw) == 32 else ("", "INVALID_SHA256_FORMAT")
    lowered = value.lower()
    if any(ch not in "0123456789abcdef" for ch in lowered) or len(lowered) % 2:
        return "", "INVALID_HEX_ENCODING"
    return (lowered, None) if SHA256_HEX.match(lowered) else ("", "INVALID_SHA256_FORMAT")


def _member_keys(member: Any, encoding: int) -> tuple[frozenset[str], list[str]]:
    """Identifier keys of one AudienceMember (hex, whatever the encoding), and the problems found (reason codes)."""
    problems: list[str] = []
    keys: set[str] = set()
    identifiers = list(member.user_data.user_identifiers)
    if not identifiers:
        problems.append("NO_IDENTIFIERS_PROVIDED")
    if len(identifiers) > MAX_IDENTIFIERS:
        problems.append("TOO_MANY_USER_IDENTIFIERS")
    for ident in identifiers:
        which = ident._pb.WhichOneof("identifier")
        if which == "email_address" or which == "phone_number":
            value, problem = _hashed_key(getattr(ident, which), encoding)
            if problem:
                problems.append(problem)
            keys.add(("email:" if which == "email_address" else "phone:") + value)
        elif which == "address":
            addr = ident.address
            names = []
            for hashed in (addr.given_name, addr.family_name):
                value, problem = _hashed_key(hashed, encoding)
                if problem:
                    problems.append(problem)
                names.append(value)
            if not addr.region_code or len(addr.region_code) != 2:
                problems.append("INVALID_COUNTRY_CODE")
            keys.add(f"address:{names[0]}:{names[1]}:{addr.region_code.upper()}:{addr.postal_code}")
    return frozenset(keys), problems


def consent_state(member_consent: Any, request_consent: Any) -> str:
    """ "granted", "denied" or "missing" for one member.

    "User-level consent overrides request-level consent" (IngestAudienceMembersRequest.consent,
    https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/ingest); both ad_user_data and
    ad_personalization must be granted, either denied is a denial, and "If either consent is set as unspecified,
    then consent is not considered granted" ("About consent for Customer Match partners",
    https://support.google.com/displayvideo/answer/14673239).
    """
    from google.ads.datamanager_v1.types import consent as c

    unspecified = c.ConsentStatus.CONSENT_STATUS_UNSPECIFIED
    values = []
    for name in ("ad_user_data", "ad_personalization"):
        own = getattr(member_consent, name) if member_consent is not None else unspecified
        values.append(own if own != unspecified else getattr(request_consent, name))
    if c.ConsentStatus.CONSENT_DENIED in values:
        return "denied"
    if all(v == c.ConsentStatus.CONSENT_GRANTED for v in values):
        return "granted"
    return "missing"


class DataManagerService:
    """Handlers for the IngestionService methods our destination uses."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core

    def handler(self) -> grpc.GenericRpcHandler:
        from google.ads.datamanager_v1.types import ingestion_service as t

        def unary(fn: Any, req: Any, resp: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=req.deserialize, response_serializer=resp.serialize
            )

        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "IngestAudienceMembers": unary(
                    self.ingest, t.IngestAudienceMembersRequest, t.IngestAudienceMembersResponse
                ),
                "RemoveAudienceMembers": unary(
                    self.remove, t.RemoveAudienceMembersRequest, t.RemoveAudienceMembersResponse
                ),
                "RemoveAllAudienceMembers": unary(
                    self.remove_all, t.RemoveAllAudienceMembersRequest, t.RemoveAllAudienceMembersResponse
                ),
                "RetrieveRequestStatus": unary(
                    self.retrieve_status, t.RetrieveRequestStatusRequest, t.RetrieveRequestStatusResponse
                ),
            },
        )

    # -- shared checks -------------------------------------------------------------------------------------------
    def _faults(self, context: grpc.ServicerContext, method: str) -> None:
        fault = self.core.faults.take(
            method, {"resource_exhausted", "permission_denied", "unauthenticated", "terms_not_accepted"}
        )
        if fault is None:
            return
        if fault.kind == "resource_exhausted":
            abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for requests per minute.",
                retry_delay_seconds=fault.retry_delay_seconds,
            )
        if fault.kind == "permission_denied":
            abort(context, grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", "The caller lacks access.")
        if fault.kind == "unauthenticated":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Request had invalid authentication credentials.")
        abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            "TERMS_AND_CONDITIONS_NOT_SIGNED",
            "The Customer Match terms of service are not accepted for this account.",
        )

    def _destinations(self, context: grpc.ServicerContext, request: Any) -> list[tuple[str, int]]:
        from google.ads.datamanager_v1.types import destination as d

        if not request.destinations:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "REQUIRED_FIELD_MISSING",
                "destinations is required.",
            )
        if len(request.destinations) > MAX_DESTINATIONS:
            abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, "TOO_MANY_DESTINATIONS", "Too many destinations."
            )
        found: list[tuple[str, int]] = []
        for i, dest in enumerate(request.destinations):
            account = dest.operating_account
            if account.account_type != d.ProductAccount.AccountType.GOOGLE_ADS:
                abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "INVALID_DESTINATION",
                    "Only Google Ads operating accounts are emulated.",
                    violations=[(f"destinations[{i}].operating_account.account_type", "not GOOGLE_ADS")],
                )
            list_id = dest.product_destination_id
            if not list_id.isdigit() or self.core.state.find_list(account.account_id, int(list_id)) is None:
                abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "INVALID_USER_LIST_ID",
                    "The user list does not exist in the operating account.",
                    violations=[(f"destinations[{i}].product_destination_id", "unknown user list")],
                )
            found.append((account.account_id, int(list_id)))
        return found

    def _members(
        self, context: grpc.ServicerContext, request: Any
    ) -> tuple[list[frozenset[str]], list[Any], int]:
        from google.ads.datamanager_v1.types import ingestion_service as t

        if not request.audience_members:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "REQUIRED_FIELD_MISSING",
                "audience_members is empty.",
            )
        if len(request.audience_members) > MAX_MEMBERS:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "TOO_MANY_AUDIENCE_MEMBERS",
                f"At most {MAX_MEMBERS} audience members per request.",
            )
        if request.encoding == t.Encoding.ENCODING_UNSPECIFIED:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "REQUIRED_FIELD_MISSING",
                "encoding is required for user data.",
                violations=[("encoding", "required")],
            )
        all_keys: list[frozenset[str]] = []
        violations: list[tuple[str, str]] = []
        reasons: set[str] = set()
        identifier_count = 0
        for i, member in enumerate(request.audience_members):
            keys, problems = _member_keys(member, int(request.encoding))
            identifier_count += len(member.user_data.user_identifiers)
            for problem in problems:
                reasons.add(problem)
                violations.append((f"audience_members[{i}].user_data", problem))
            all_keys.append(keys)
        if violations:
            reason = sorted(reasons)[0] if len(reasons) == 1 else "INVALID_ARGUMENT"
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                reason,
                f"{len(violations)} invalid audience member field(s).",
                violations=violations[:100],
            )
        return all_keys, list(request.audience_members), identifier_count

    def _new_request(
        self,
        kind: str,
        destinations: list[tuple[str, int]],
        method: str,
        *,
        record_count: int = 0,
        identifier_count: int = 0,
    ) -> DmRequest:
        """Accept a request: processed ``dm_processing_seconds`` from now (a ``slow_processing`` fault: its delay),
        failing then if a ``request_failed`` fault is armed for ``method``."""
        now = self.core.state.clock_ns()
        slow = self.core.faults.take(method, {"slow_processing"})
        delay = slow.delay_seconds if slow else self.core.settings.dm_processing_seconds
        req = DmRequest(
            request_id=str(uuid.uuid4()),
            kind=kind,
            destinations=destinations,
            received_ns=now,
            due_ns=now + int(delay * 1e9),
            record_count=record_count,
            identifier_count=identifier_count,
        )
        failed = self.core.faults.take(method, {"request_failed"})
        if failed is not None:
            req.fail_reason = failed.reason or "PROCESSING_ERROR_REASON_INTERNAL_ERROR"
        self.core.state.dm_requests[req.request_id] = req
        return req

    def _lists(self, destinations: list[tuple[str, int]]) -> Iterator[UserList]:
        """The destinations' user lists that still exist."""
        for customer_id, list_id in destinations:
            user_list = self.core.state.find_list(customer_id, list_id)
            if user_list is not None:
                yield user_list

    def _record(self, method: str, req: DmRequest, **fields: Any) -> None:
        """Add a received request (not a validate-only one) to the emulator's PII-free request log."""
        list_ids = [list_id for _, list_id in req.destinations]
        self.core.state.record(SERVICE, method, request_id=req.request_id, list_ids=list_ids, **fields)

    # -- asynchronous processing ---------------------------------------------------------------------------------
    def process_due(self) -> None:
        """Apply every request whose processing time has come, in due order (call with or without the lock)."""
        state = self.core.state
        with state.lock:
            now = state.clock_ns()
            due = [r for r in state.dm_requests.values() if not r.applied and r.due_ns <= now]
            for req in sorted(due, key=lambda r: (r.due_ns, r.received_ns)):
                self._process(req)

    def settle(self) -> None:
        """Process every request still pending (what Google does eventually, polled or not)."""
        state = self.core.state
        with state.lock:
            now = state.clock_ns()
            for req in state.dm_requests.values():
                req.due_ns = min(req.due_ns, now)
            self.process_due()

    def _process(self, req: DmRequest) -> None:
        """Apply one request at its due time and fix its final status."""
        req.applied = True
        if req.fail_reason is not None:
            req.error_counts = {req.fail_reason: max(req.record_count, 1)}
            req.status = "FAILED"
            return
        lists = list(self._lists(req.destinations))
        if req.kind == "remove_all":
            for user_list in lists:
                user_list.remove_all(req.remove_as_of_ns)
                user_list.note_size()
            req.status = "SUCCESS"
            return
        applied = 0
        for index, keys in enumerate(req.members):
            if index in req.skipped:
                continue
            applied += 1
            for user_list in lists:
                if req.kind == "ingest":
                    user_list.add(keys, req.due_ns)  # "last added": when the ingest was processed
                else:
                    user_list.remove_by(keys, self.core.settings.removal_match)
        for user_list in lists:
            user_list.note_size()
        errors = sum(req.error_counts.values())
        req.status = "SUCCESS" if not errors else ("PARTIAL_SUCCESS" if applied else "FAILED")

    # -- methods ---------------------------------------------------------------------------------------------------
    def ingest(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.ads.datamanager_v1.types import ingestion_service as t
        from google.ads.datamanager_v1.types import terms_of_service as tos

        state = self.core.state
        settings = self.core.settings
        with state.lock:
            self.process_due()
            self._faults(context, "IngestAudienceMembers")
            destinations = self._destinations(context, request)
            keys, members, identifier_count = self._members(context, request)
            accepted_tos = tos.TermsOfServiceStatus.ACCEPTED
            # "Set the termsOfService to a TermsOfService message with customerMatchTermsOfServiceStatus set to
            # ACCEPTED" ("Upload members to an audience",
            # https://developers.google.com/data-manager/api/devguides/audiences/google-ads/customer-match/upload-data);
            # whether a request without it is refused is not said: a setting.
            tos_status = request.terms_of_service.customer_match_terms_of_service_status
            if tos_status == tos.TermsOfServiceStatus.REJECTED or (
                settings.dm_require_terms_of_service and tos_status != accepted_tos
            ):
                abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "TERMS_AND_CONDITIONS_NOT_SIGNED",
                    "terms_of_service.customer_match_terms_of_service_status must be ACCEPTED.",
                )
            if request.validate_only:
                state.record(SERVICE, "IngestAudienceMembers", validate_only=True, members=len(members))
                return t.IngestAudienceMembersResponse()
            req = self._new_request(
                "ingest",
                destinations,
                "IngestAudienceMembers",
                record_count=len(members),
                identifier_count=identifier_count,
            )
            req.members = keys
            fault = self.core.faults.take("IngestAudienceMembers", {"partial_failure"})
            if fault:
                failing = {i for i in fault.indexes if 0 <= i < len(members)}
                req.skipped |= failing
                if failing:
                    reason = fault.reason or "PROCESSING_ERROR_REASON_INVALID_FORMAT"
                    req.error_counts[reason] = len(failing)
            request_consent = request.consent
            denied = 0
            for i, member in enumerate(members):
                if i in req.skipped:
                    continue
                verdict = consent_state(member.consent if "consent" in member else None, request_consent)
                if verdict == "denied":
                    denied += 1
                    req.skipped.add(i)
                    reason = "PROCESSING_ERROR_REASON_DENIED_CONSENT"
                    req.error_counts[reason] = req.error_counts.get(reason, 0) + 1
                elif verdict == "missing" and settings.dm_missing_consent == "not_processed":
                    req.skipped.add(i)
                    reason = "PROCESSING_ERROR_REASON_NO_CONSENT"
                    req.error_counts[reason] = req.error_counts.get(reason, 0) + 1
            if denied and settings.dm_denied_consent == "fail_request" and req.fail_reason is None:
                # "If either consent field is set as denied ... Your upload request will return an error" ("About
                # consent for Customer Match partners", https://support.google.com/displayvideo/answer/14673239):
                # read here as the whole request failing once processed.
                req.fail_reason = "PROCESSING_ERROR_REASON_DENIED_CONSENT"
            self._record(
                "IngestAudienceMembers",
                req,
                members=len(members),
                encoding=t.Encoding(request.encoding).name,
                consent_denied=denied,
            )
            return t.IngestAudienceMembersResponse(request_id=req.request_id)

    def remove(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.ads.datamanager_v1.types import ingestion_service as t

        state = self.core.state
        with state.lock:
            self.process_due()
            self._faults(context, "RemoveAudienceMembers")
            destinations = self._destinations(context, request)
            keys, members, identifier_count = self._members(context, request)
            if request.validate_only:
                return t.RemoveAudienceMembersResponse()
            req = self._new_request(
                "remove",
                destinations,
                "RemoveAudienceMembers",
                record_count=len(members),
                identifier_count=identifier_count,
            )
            req.members = keys
            self._record("RemoveAudienceMembers", req, members=len(members))
            return t.RemoveAudienceMembersResponse(request_id=req.request_id)

    def remove_all(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.ads.datamanager_v1.types import ingestion_service as t

        state = self.core.state
        with state.lock:
            self.process_due()
            self._faults(context, "RemoveAllAudienceMembers")
            destinations = self._destinations(context, request)
            as_of: int | None = None
            if "remove_as_of_time" in request:
                ts = request._pb.remove_as_of_time  # the protobuf Timestamp: exact nanoseconds, no float
                as_of = ts.seconds * 1_000_000_000 + ts.nanos
                # "If set, only audience members last added before this time will be removed. If not set, it
                # defaults to current time. The remove as of time must not be in the future."
                # (audienceMembers.removeAll, https://developers.google.com/data-manager/api/reference/rest/v1/audienceMembers/removeAll)
                if as_of > state.clock_ns():
                    abort(
                        context,
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "INVALID_REMOVE_AS_OF_TIME",
                        "remove_as_of_time must not be in the future.",
                        violations=[("remove_as_of_time", "in the future")],
                    )
            if request.validate_only:
                return t.RemoveAllAudienceMembersResponse()
            req = self._new_request("remove_all", destinations, "RemoveAllAudienceMembers")
            req.remove_as_of_ns = as_of if as_of is not None else req.received_ns
            self._record("RemoveAllAudienceMembers", req, as_of_given=as_of is not None)
            return t.RemoveAllAudienceMembersResponse(request_id=req.request_id)

    def retrieve_status(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.ads.datamanager_v1.types import destination as d
        from google.ads.datamanager_v1.types import ingestion_service as t
        from google.ads.datamanager_v1.types import match_rate, processing_errors
        from google.ads.datamanager_v1.types import request_status_per_destination as r

        state = self.core.state
        with state.lock:
            self.process_due()
            self._faults(context, "RetrieveRequestStatus")
            req = state.dm_requests.get(request.request_id)
            if req is None:
                abort(context, grpc.StatusCode.NOT_FOUND, "INVALID_REQUEST_ID", "Unknown request id.")
            R = r.RequestStatusPerDestination
            status = enum_member(R.RequestStatus, req.status)
            state.record(
                SERVICE, "RetrieveRequestStatus", request_id=req.request_id, kind=req.kind, status=status.name
            )
            entries = []
            for customer_id, list_id in req.destinations:
                entry = R(
                    destination=d.Destination(
                        operating_account=d.ProductAccount(
                            account_id=customer_id, account_type=d.ProductAccount.AccountType.GOOGLE_ADS
                        ),
                        product_destination_id=str(list_id),
                    ),
                    request_status=status,
                )
                if req.applied and req.error_counts:
                    entry.error_info = processing_errors.ErrorInfo(
                        error_counts=[
                            processing_errors.ErrorCount(
                                record_count=n,
                                reason=enum_member(processing_errors.ProcessingErrorReason, reason),
                            )
                            for reason, n in sorted(req.error_counts.items())
                        ]
                    )
                if req.kind == "ingest":
                    bucket = match_rate_bucket(self.core.settings.match_rate_percent)
                    entry.audience_members_ingestion_status = R.IngestAudienceMembersStatus(
                        user_data_ingestion_status=R.IngestUserDataStatus(
                            record_count=req.record_count,
                            user_identifier_count=req.identifier_count,
                            upload_match_rate_range=(
                                enum_member(match_rate.MatchRateRange, f"MATCH_RATE_RANGE_{bucket}")
                                if req.applied
                                else match_rate.MatchRateRange.MATCH_RATE_RANGE_UNKNOWN
                            ),
                        )
                    )
                elif req.kind == "remove":
                    entry.audience_members_removal_status = R.RemoveAudienceMembersStatus(
                        user_data_removal_status=R.RemoveUserDataStatus(
                            record_count=req.record_count, user_identifier_count=req.identifier_count
                        )
                    )
                else:
                    entry.remove_all_audience_members_status = R.RemoveAllAudienceMembersStatus()
                entries.append(entry)
            return t.RetrieveRequestStatusResponse(request_status_per_destination=entries)
