"""Google Ads API v26 Customer Match services as the emulator serves them.

``OfflineUserDataJobService`` (create / add operations / run), ``UserListService.MutateUserLists``,
``GoogleAdsService.Search`` and ``SearchStream`` (GAQL: ``gaql.py`` parses, ``gaql_rows.py`` answers) and
``google.longrunning.Operations.GetOperation``.
Errors travel like the real API's: a gRPC status plus trailing metadata
``google.ads.googleads.v26.errors.googleadsfailure-bin`` (a serialized GoogleAdsFailure), which the client's
exception interceptor turns into ``GoogleAdsException`` (except for RESOURCE_EXHAUSTED, which it leaves a plain
RpcError - as the real client does). A run job finishes after ``settings.job_polls`` reads and
``settings.job_seconds`` on the emulator's movable clock, so tests never wait on wall-clock time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from cio_devkit.emulators.google import gaql, gaql_rows
from cio_devkit.emulators.google.settings import enum_member, match_rate_bucket
from cio_devkit.emulators.google.state import SHA256_HEX, Job, JobOperation, UserList

if TYPE_CHECKING:
    from cio_devkit.emulators.google.server import EmulatorCore

VERSION = "v26"
_PREFIX = f"google.ads.googleads.{VERSION}.services"
FAILURE_KEY = f"google.ads.googleads.{VERSION}.errors.googleadsfailure-bin"
MAX_IDENTIFIERS_PER_REQUEST = 100_000
MAX_IDENTIFIERS_PER_USER = 20
# "requests to set the UserList.membership_life_span field ... to greater than 540 will return a RangeError.TOO_HIGH
# error"; an unset field counts as the maximum, 540 ("Update to Customer Match membership expiration starting
# April 7, 2025", https://developers.google.com/ads/blog/posts/2025/02/update-to-customer-match-membership)
MAX_MEMBERSHIP_LIFE_SPAN = 540
STREAM_BATCH_ROWS = 10_000  # SearchStream answers in batches ("Streaming", reporting guide)
_JOB_ERROR = "offline_user_data_job_error"
_USER_LIST_FIELDS = frozenset(
    {
        "user_list.resource_name",
        "user_list.id",
        "user_list.name",
        "user_list.description",
        "user_list.type",
        "user_list.membership_life_span",
        "user_list.size_for_display",
        "user_list.size_for_search",
        "user_list.size_range_for_display",
        "user_list.size_range_for_search",
        "user_list.match_rate_percentage",
        "user_list.crm_based_user_list.upload_key_type",
    }
)
_CUSTOMER_FIELDS = frozenset({"customer.resource_name", "customer.id"})
_JOB_FIELDS = frozenset(
    {
        "offline_user_data_job.resource_name",
        "offline_user_data_job.id",
        "offline_user_data_job.type",
        "offline_user_data_job.status",
        "offline_user_data_job.failure_reason",
        "offline_user_data_job.customer_match_user_list_metadata.user_list",
        "offline_user_data_job.customer_match_user_list_metadata.consent.ad_user_data",
        "offline_user_data_job.customer_match_user_list_metadata.consent.ad_personalization",
        "offline_user_data_job.operation_metadata.match_rate_range",
    }
)
# What each FROM resource answers: its own fields plus those of its attributed resources (offline_user_data_job:
# customer, user_list; https://developers.google.com/google-ads/api/fields/v26/offline_user_data_job).
EMULATED_FIELDS = {
    "user_list": _USER_LIST_FIELDS | _CUSTOMER_FIELDS,
    "offline_user_data_job": _JOB_FIELDS | _USER_LIST_FIELDS | _CUSTOMER_FIELDS,
    "customer": _CUSTOMER_FIELDS,
}


@dataclass(frozen=True)
class AdsError:
    """One GoogleAdsError to send: ``family`` is the ErrorCode oneof field, ``code`` its enum value name."""

    family: str
    code: str
    message: str
    index: int | None = None
    retry_delay_seconds: float | None = None


def failure_proto(errors: list[AdsError]) -> Any:
    from google.ads.googleads.v26.errors.types import errors as e
    from google.protobuf import duration_pb2

    out = []
    for err in errors:
        enum_cls = e.ErrorCode.meta.fields[err.family].enum
        item = e.GoogleAdsError(
            error_code=e.ErrorCode(**{err.family: enum_cls[err.code]}),
            message=err.message,
        )
        if err.index is not None:
            item.location = e.ErrorLocation(
                field_path_elements=[
                    e.ErrorLocation.FieldPathElement(field_name="operations", index=err.index)
                ]
            )
        if err.retry_delay_seconds is not None:
            seconds = int(err.retry_delay_seconds)
            item.details = e.ErrorDetails(
                quota_error_details=e.QuotaErrorDetails(
                    rate_scope=e.QuotaErrorDetails.QuotaRateScope.DEVELOPER,
                    rate_name="Requests per developer per day",
                    retry_delay=duration_pb2.Duration(
                        seconds=seconds, nanos=int((err.retry_delay_seconds - seconds) * 1e9)
                    ),
                )
            )
        out.append(item)
    return e.GoogleAdsFailure(errors=out, request_id=uuid.uuid4().hex)


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, errors: list[AdsError]) -> NoReturn:
    from google.ads.googleads.v26.errors.types import errors as e

    failure = failure_proto(errors)
    context.set_trailing_metadata(
        ((FAILURE_KEY, e.GoogleAdsFailure.serialize(failure)), ("request-id", failure.request_id))
    )
    context.abort(
        code,
        "Request contains an invalid argument." if code != grpc.StatusCode.RESOURCE_EXHAUSTED else "Quota",
    )
    raise AssertionError("unreachable")


def _reject_job_request(
    context: grpc.ServicerContext, code: str, message: str, index: int | None = None
) -> NoReturn:
    """Fail an OfflineUserDataJobService call with one ``OfflineUserDataJobError`` (INVALID_ARGUMENT)."""
    abort(context, grpc.StatusCode.INVALID_ARGUMENT, [AdsError(_JOB_ERROR, code, message, index=index)])


def _fault_errors(kind: str, retry_delay: float) -> tuple[grpc.StatusCode, AdsError]:
    if kind == "resource_exhausted":
        return grpc.StatusCode.RESOURCE_EXHAUSTED, AdsError(
            "quota_error", "RESOURCE_EXHAUSTED", "Too many requests.", retry_delay_seconds=retry_delay
        )
    if kind == "concurrent_modification":
        return grpc.StatusCode.ABORTED, AdsError(
            "database_error",
            "CONCURRENT_MODIFICATION",
            "Multiple requests were attempting to modify the job.",
        )
    if kind == "not_allowlisted":
        return grpc.StatusCode.PERMISSION_DENIED, AdsError(
            "not_allowlisted_error",
            "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE",
            "Customer is not allowlisted for Customer Match on the Google Ads API.",
        )
    if kind == "terms_not_accepted":
        return grpc.StatusCode.INVALID_ARGUMENT, AdsError(
            _JOB_ERROR,
            "CUSTOMER_NOT_ACCEPTED_CUSTOMER_DATA_TERMS",
            "The customer has not accepted the customer data terms.",
        )
    if kind == "permission_denied":
        return grpc.StatusCode.PERMISSION_DENIED, AdsError(
            "authorization_error", "USER_PERMISSION_DENIED", "The user does not have permission."
        )
    return grpc.StatusCode.UNAUTHENTICATED, AdsError(
        "authentication_error", "AUTHENTICATION_ERROR", "Authentication of the request failed."
    )


def _user_data_keys(user_data: Any) -> tuple[frozenset[str], int, str | None]:
    """Identifier keys of one UserData, how many identifiers it had, and the first problem (an error code)."""
    keys: set[str] = set()
    problem: str | None = None
    identifiers = list(user_data.user_identifiers)
    if not identifiers:
        return frozenset(), 0, "MISSING_USER_IDENTIFIER"
    if len(identifiers) > MAX_IDENTIFIERS_PER_USER:
        problem = "TOO_MANY_USER_IDENTIFIERS"
    for ident in identifiers:
        which = ident._pb.WhichOneof("identifier")
        if which in ("hashed_email", "hashed_phone_number"):
            value = getattr(ident, which)
            if not SHA256_HEX.match(value):
                problem = problem or "INVALID_SHA256_FORMAT"
            keys.add(("email:" if which == "hashed_email" else "phone:") + value)
        elif which == "address_info":
            a = ident.address_info
            if not (SHA256_HEX.match(a.hashed_first_name) and SHA256_HEX.match(a.hashed_last_name)):
                problem = problem or "INVALID_SHA256_FORMAT"
            if len(a.country_code) != 2:
                problem = problem or "INVALID_COUNTRY_CODE"
            keys.add(
                f"address:{a.hashed_first_name}:{a.hashed_last_name}:{a.country_code.upper()}:{a.postal_code}"
            )
        else:
            problem = problem or "INCOMPATIBLE_UPLOAD_KEY_TYPE"
    return frozenset(keys), len(identifiers), problem


class AdsServices:
    """Handlers for the four Google Ads services our destination touches."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        from google.ads.googleads.v26.services.types import google_ads_service as g
        from google.ads.googleads.v26.services.types import offline_user_data_job_service as o
        from google.ads.googleads.v26.services.types import user_list_service as u
        from google.longrunning import operations_pb2

        def unary(fn: Any, req_deser: Any, resp_ser: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=req_deser, response_serializer=resp_ser
            )

        def stream(fn: Any, req_deser: Any, resp_ser: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_stream_rpc_method_handler(
                fn, request_deserializer=req_deser, response_serializer=resp_ser
            )

        return [
            grpc.method_handlers_generic_handler(
                f"{_PREFIX}.OfflineUserDataJobService",
                {
                    "CreateOfflineUserDataJob": unary(
                        self.create_job,
                        o.CreateOfflineUserDataJobRequest.deserialize,
                        o.CreateOfflineUserDataJobResponse.serialize,
                    ),
                    "AddOfflineUserDataJobOperations": unary(
                        self.add_operations,
                        o.AddOfflineUserDataJobOperationsRequest.deserialize,
                        o.AddOfflineUserDataJobOperationsResponse.serialize,
                    ),
                    "RunOfflineUserDataJob": unary(
                        self.run_job,
                        o.RunOfflineUserDataJobRequest.deserialize,
                        operations_pb2.Operation.SerializeToString,
                    ),
                },
            ),
            grpc.method_handlers_generic_handler(
                f"{_PREFIX}.UserListService",
                {
                    "MutateUserLists": unary(
                        self.mutate_user_lists,
                        u.MutateUserListsRequest.deserialize,
                        u.MutateUserListsResponse.serialize,
                    )
                },
            ),
            grpc.method_handlers_generic_handler(
                f"{_PREFIX}.GoogleAdsService",
                {
                    "Search": unary(
                        self.search, g.SearchGoogleAdsRequest.deserialize, g.SearchGoogleAdsResponse.serialize
                    ),
                    "SearchStream": stream(
                        self.search_stream,
                        g.SearchGoogleAdsStreamRequest.deserialize,
                        g.SearchGoogleAdsStreamResponse.serialize,
                    ),
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.longrunning.Operations",
                {
                    "GetOperation": unary(
                        self.get_operation,
                        operations_pb2.GetOperationRequest.FromString,
                        operations_pb2.Operation.SerializeToString,
                    )
                },
            ),
        ]

    def _faults(self, context: grpc.ServicerContext, method: str, kinds: set[str]) -> None:
        fault = self.core.faults.take(method, kinds)
        if fault is not None:
            code, error = _fault_errors(fault.kind, fault.retry_delay_seconds)
            abort(context, code, [error])

    def _job(self, context: grpc.ServicerContext, resource_name: str) -> Job:
        job = self.core.state.jobs.get(resource_name)
        if job is None:
            abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                [AdsError("mutate_error", "RESOURCE_NOT_FOUND", "The offline user data job does not exist.")],
            )
        return job

    def _pending_job(self, context: grpc.ServicerContext, resource_name: str) -> Job:
        """The job, refused if it has been run already (operations and runs are for a pending job only)."""
        job = self._job(context, resource_name)
        if job.status != "PENDING":
            _reject_job_request(context, "JOB_ALREADY_STARTED", "The job has been run already.")
        return job

    # -- OfflineUserDataJobService ---------------------------------------------------------------------------------
    def create_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.ads.googleads.v26.enums.types import consent_status, offline_user_data_job_type
        from google.ads.googleads.v26.services.types import offline_user_data_job_service as o

        state = self.core.state
        with state.lock:
            self._faults(
                context,
                "CreateOfflineUserDataJob",
                {
                    "not_allowlisted",
                    "terms_not_accepted",
                    "resource_exhausted",
                    "permission_denied",
                    "unauthenticated",
                },
            )
            job_type = offline_user_data_job_type.OfflineUserDataJobTypeEnum.OfflineUserDataJobType
            if request.job.type_ != job_type.CUSTOMER_MATCH_USER_LIST:
                _reject_job_request(context, "INVALID_USER_LIST_TYPE", "Only Customer Match jobs.")
            metadata = request.job.customer_match_user_list_metadata
            user_list = state.find_list_by_resource(metadata.user_list)
            if user_list is None or user_list.customer_id != request.customer_id:
                _reject_job_request(context, "INVALID_USER_LIST_ID", "Unknown user list.")
            granted = consent_status.ConsentStatusEnum.ConsentStatus.GRANTED
            job = Job(
                customer_id=request.customer_id,
                id=state.next_id(),
                user_list=user_list.resource_name,
                consent_granted=metadata.consent.ad_user_data == granted,
                consent=(metadata.consent.ad_user_data.name, metadata.consent.ad_personalization.name),
            )
            state.jobs[job.resource_name] = job
            state.record(
                f"{_PREFIX}.OfflineUserDataJobService",
                "CreateOfflineUserDataJob",
                job=job.resource_name,
                user_list=user_list.resource_name,
                consent_granted=job.consent_granted,
            )
            return o.CreateOfflineUserDataJobResponse(resource_name=job.resource_name)

    def add_operations(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.ads.googleads.v26.services.types import offline_user_data_job_service as o
        from google.protobuf import any_pb2
        from google.rpc import status_pb2

        state = self.core.state
        with state.lock:
            self._faults(
                context,
                "AddOfflineUserDataJobOperations",
                {"concurrent_modification", "resource_exhausted", "permission_denied", "unauthenticated"},
            )
            job = self._pending_job(context, request.resource_name)
            operations = list(request.operations)
            parsed: list[tuple[str, frozenset[str], int, str | None]] = []
            total_identifiers = 0
            for op in operations:
                which = op._pb.WhichOneof("operation")
                if which == "remove_all":
                    parsed.append(("remove_all", frozenset(), 0, None))
                    continue
                keys, count, problem = _user_data_keys(getattr(op, which))
                total_identifiers += count
                parsed.append((which, keys, count, problem))
            if total_identifiers > MAX_IDENTIFIERS_PER_REQUEST:
                _reject_job_request(context, "TOO_MANY_USER_IDENTIFIERS", "Over 100,000 per request.")
            for i, (kind, *_rest) in enumerate(parsed):
                if kind == "remove_all" and (i > 0 or job.operations):
                    _reject_job_request(
                        context,
                        "INVALID_OPERATION_ORDER",
                        "remove_all must be the first operation of the job.",
                        i,
                    )
            kinds = {op.kind for op in job.operations} | {p[0] for p in parsed}
            if {"create", "remove"} <= kinds:
                _reject_job_request(
                    context, "CONFLICTING_OPERATION", "Creates and removes cannot be mixed in one job."
                )
            errors: list[AdsError] = []
            for i, (_kind, _keys, _count, problem) in enumerate(parsed):
                if problem:
                    errors.append(AdsError(_JOB_ERROR, problem, "Invalid user data.", index=i))
            # an injected partial failure hits a request carrying user data (never a lone remove_all request)
            has_user_data = any(kind != "remove_all" for kind, *_ in parsed)
            fault = (
                self.core.faults.take("AddOfflineUserDataJobOperations", {"partial_failure"})
                if has_user_data
                else None
            )
            if fault:
                bad = {e.index for e in errors}
                for i in fault.indexes:
                    if i < len(parsed) and i not in bad:
                        errors.append(
                            AdsError(
                                _JOB_ERROR,
                                fault.reason or "INVALID_SHA256_FORMAT",
                                "Invalid user data.",
                                index=i,
                            )
                        )
            if errors and not request.enable_partial_failure:
                abort(context, grpc.StatusCode.INVALID_ARGUMENT, errors)
            failed = {e.index for e in errors}
            if not request.validate_only:
                for i, (kind, keys, _count, _problem) in enumerate(parsed):
                    if i not in failed:
                        job.operations.append(JobOperation(kind, keys))
            state.record(
                f"{_PREFIX}.OfflineUserDataJobService",
                "AddOfflineUserDataJobOperations",
                job=job.resource_name,
                operations=len(parsed),
                kinds=list(dict.fromkeys(p[0] for p in parsed)),  # distinct, in order of first use
                identifiers=total_identifiers,
                failed=len(failed),
            )
            response = o.AddOfflineUserDataJobOperationsResponse()
            if errors:
                from google.ads.googleads.v26.errors.types import errors as e

                detail = any_pb2.Any(
                    type_url=f"type.googleapis.com/google.ads.googleads.{VERSION}.errors.GoogleAdsFailure",
                    value=e.GoogleAdsFailure.serialize(failure_proto(errors)),
                )
                response.partial_failure_error = status_pb2.Status(
                    code=grpc.StatusCode.INVALID_ARGUMENT.value[0],
                    message=f"Multiple errors in 'details'. {len(errors)} operation(s) failed.",
                    details=[detail],
                )
            return response

    def run_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        state = self.core.state
        with state.lock:
            self._faults(
                context,
                "RunOfflineUserDataJob",
                {"concurrent_modification", "resource_exhausted", "not_allowlisted", "terms_not_accepted"},
            )
            job = self._pending_job(context, request.resource_name)
            job.status = "RUNNING"
            job.polls_left = self.core.settings.job_polls
            job.run_at_ns = state.clock_ns()
            fault = self.core.faults.take("RunOfflineUserDataJob", {"job_failed"})
            if fault:
                job.fail_with = fault.reason or "UNKNOWN"
            state.record(
                f"{_PREFIX}.OfflineUserDataJobService",
                "RunOfflineUserDataJob",
                job=job.resource_name,
                operations=len(job.operations),
            )
            if job.polls_left <= 0 and self.core.settings.job_seconds <= 0:
                self._finish(job)
            return self._operation(job)

    def _operation(self, job: Job) -> Any:
        from google.longrunning import operations_pb2
        from google.protobuf import any_pb2, empty_pb2

        op = operations_pb2.Operation(
            name=f"{job.resource_name}/operations/run", done=job.status in ("SUCCESS", "FAILED")
        )
        if job.status == "SUCCESS":
            op.response.CopyFrom(_pack(any_pb2.Any(), empty_pb2.Empty()))
        elif job.status == "FAILED":
            op.error.code = grpc.StatusCode.INTERNAL.value[0]
            op.error.message = f"Job failed: {job.failure_reason}"
        return op

    def get_operation(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.core.state.lock:
            job = self._job(context, request.name.rsplit("/operations/", 1)[0])
            self._advance(job)
            return self._operation(job)

    def _advance(self, job: Job) -> None:
        """One status read of a running job: it finishes once its reads are used up and its time has come."""
        if job.status != "RUNNING":
            return
        if job.polls_left > 0:
            job.polls_left -= 1
            return
        due = job.run_at_ns + int(self.core.settings.job_seconds * 10**9)
        if self.core.state.clock_ns() < due:
            return
        self._finish(job)

    def _finish(self, job: Job) -> None:
        if job.fail_with:
            job.status = "FAILED"
            job.failure_reason = job.fail_with
            return
        user_list = self.core.state.find_list_by_resource(job.user_list)
        assert user_list is not None
        allowed = job.consent_granted or not self.core.settings.require_consent
        now = self.core.state.clock_ns()
        for op in job.operations:
            if op.kind == "remove_all":
                user_list.remove_all()
            elif op.kind == "remove":
                user_list.remove_by(op.keys, self.core.settings.removal_match)
            elif allowed:
                user_list.add(op.keys, now)
        user_list.note_size()
        job.status = "SUCCESS"
        job.match_rate_range = f"MATCH_RANGE_{match_rate_bucket(self.core.settings.match_rate_percent)}"

    def settle(self) -> None:
        """Finish every running job (what Google does eventually, polled or not)."""
        with self.core.state.lock:
            for job in self.core.state.jobs.values():
                if job.status == "RUNNING":
                    self._finish(job)

    # -- UserListService ----------------------------------------------------------------------------------------
    def mutate_user_lists(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.ads.googleads.v26.enums.types import customer_match_upload_key_type as k
        from google.ads.googleads.v26.services.types import user_list_service as u

        state = self.core.state
        with state.lock:
            self._faults(
                context, "MutateUserLists", {"resource_exhausted", "permission_denied", "not_allowlisted"}
            )
            results = []
            for i, op in enumerate(request.operations):
                if op._pb.WhichOneof("operation") != "create":
                    abort(
                        context,
                        grpc.StatusCode.INVALID_ARGUMENT,
                        [AdsError("request_error", "UNKNOWN", "Only create is emulated.", index=i)],
                    )
                new = op.create
                if any(ul.name == new.name for ul in state.lists_of(request.customer_id)):
                    abort(
                        context,
                        grpc.StatusCode.INVALID_ARGUMENT,
                        [AdsError("user_list_error", "NAME_ALREADY_USED", "Name already used.", index=i)],
                    )
                key_type = new.crm_based_user_list.upload_key_type
                if key_type == k.CustomerMatchUploadKeyTypeEnum.CustomerMatchUploadKeyType.UNSPECIFIED:
                    abort(
                        context,
                        grpc.StatusCode.INVALID_ARGUMENT,
                        [AdsError("field_error", "REQUIRED", "crm_based_user_list.upload_key_type", index=i)],
                    )
                life_span = (
                    new.membership_life_span if "membership_life_span" in new else MAX_MEMBERSHIP_LIFE_SPAN
                )
                if not 0 <= life_span <= MAX_MEMBERSHIP_LIFE_SPAN:
                    abort(
                        context,
                        grpc.StatusCode.INVALID_ARGUMENT,
                        [
                            AdsError(
                                "range_error",
                                "TOO_HIGH" if life_span > MAX_MEMBERSHIP_LIFE_SPAN else "TOO_LOW",
                                "membership_life_span must be between 0 and 540.",
                                index=i,
                            )
                        ],
                    )
                created = state.create_user_list(
                    request.customer_id,
                    new.name,
                    description=new.description,
                    membership_life_span=life_span,
                    upload_key_type=key_type.name,
                )
                results.append(u.MutateUserListResult(resource_name=created.resource_name))
            state.record(f"{_PREFIX}.UserListService", "MutateUserLists", created=len(results))
            return u.MutateUserListsResponse(results=results)

    # -- GoogleAdsService -----------------------------------------------------------------------------------------
    def _query(
        self, context: grpc.ServicerContext, request: Any, method: str
    ) -> tuple[gaql.Query, list[Any]]:
        """Parse, check and answer one GAQL query (under the state lock); a refused query aborts the call."""
        self._faults(context, method, {"resource_exhausted", "permission_denied", "unauthenticated"})
        try:
            query = gaql.parse(request.query)
            gaql_rows.check(query, EMULATED_FIELDS)
            rows = gaql_rows.answer(query, self._rows(query, request.customer_id), EMULATED_FIELDS)
        except gaql.GaqlError as exc:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, [AdsError("query_error", exc.code, str(exc))])
        self.core.state.record(f"{_PREFIX}.GoogleAdsService", method, resource=query.resource, rows=len(rows))
        return query, rows

    def search(self, request: Any, context: grpc.ServicerContext) -> Any:
        from google.ads.googleads.v26.services.types import google_ads_service as g
        from google.protobuf import field_mask_pb2

        with self.core.state.lock:
            query, rows = self._query(context, request, "Search")
            return g.SearchGoogleAdsResponse(
                results=rows, field_mask=field_mask_pb2.FieldMask(paths=list(query.fields))
            )

    def search_stream(self, request: Any, context: grpc.ServicerContext) -> Any:
        """SearchStream: the same answer as Search, in batches of up to 10,000 rows ("Streaming" in the reporting
        guide, https://developers.google.com/google-ads/api/docs/reporting/streaming)."""
        from google.ads.googleads.v26.services.types import google_ads_service as g
        from google.protobuf import field_mask_pb2

        with self.core.state.lock:
            query, rows = self._query(context, request, "SearchStream")
        mask = field_mask_pb2.FieldMask(paths=list(query.fields))
        request_id = uuid.uuid4().hex
        for start in range(0, max(len(rows), 1), STREAM_BATCH_ROWS):
            yield g.SearchGoogleAdsStreamResponse(
                results=rows[start : start + STREAM_BATCH_ROWS], field_mask=mask, request_id=request_id
            )

    def _rows(self, query: gaql.Query, customer_id: str) -> list[Any]:
        """Every row of the FROM resource for ``customer_id``, all emulated fields filled (``answer`` filters)."""
        from google.ads.googleads.v26.services.types import google_ads_service as g

        state = self.core.state
        customer = self._customer_row(customer_id)
        if query.resource == "customer":
            return [g.GoogleAdsRow(customer=customer)]
        if query.resource == "user_list":
            return [
                g.GoogleAdsRow(user_list=self._user_list_row(ul), customer=customer)
                for ul in sorted(state.lists_of(customer_id), key=lambda ul: ul.id)
            ]
        jobs = sorted((j for j in state.jobs.values() if j.customer_id == customer_id), key=lambda j: j.id)
        # A read of a job is what moves it on (poll-driven), so only the jobs the query selects are advanced.
        before = [self._full_job_row(job, customer) for job in jobs]
        probe = gaql.Query(("offline_user_data_job.resource_name",), query.resource, query.conditions, None)
        wanted = {
            row.offline_user_data_job.resource_name
            for row in gaql_rows.answer(probe, before, EMULATED_FIELDS)
        }
        for job in jobs:
            if job.resource_name in wanted:
                self._advance(job)
        return [self._full_job_row(job, customer) for job in jobs]

    def _full_job_row(self, job: Job, customer: Any) -> Any:
        from google.ads.googleads.v26.services.types import google_ads_service as g

        user_list = self.core.state.find_list_by_resource(job.user_list)
        return g.GoogleAdsRow(
            offline_user_data_job=self._job_row(job),
            user_list=self._user_list_row(user_list) if user_list is not None else None,
            customer=customer,
        )

    def _customer_row(self, customer_id: str) -> Any:
        from google.ads.googleads.v26.resources.types import customer as c

        return c.Customer(resource_name=f"customers/{customer_id}", id=int(customer_id))

    def _reported_size(self, ul: UserList) -> int | None:
        """The size Google would show now: as it was ``size_delay_seconds`` ago, rounded per the setting."""
        settings = self.core.settings
        size = ul.size_as_of(self.core.state.clock_ns() - int(settings.size_delay_seconds * 10**9))
        if size is None or settings.size_rounding == "exact" or size < 100:
            return size
        digits = len(str(size)) - 2
        return int(round(size, -digits))

    def _user_list_row(self, ul: UserList) -> Any:
        from google.ads.googleads.v26.common.types import user_lists
        from google.ads.googleads.v26.enums.types import customer_match_upload_key_type as k
        from google.ads.googleads.v26.enums.types import user_list_type as t
        from google.ads.googleads.v26.resources.types import user_list as r

        row = r.UserList(
            resource_name=ul.resource_name,
            id=ul.id,
            name=ul.name,
            description=ul.description,
            type_=t.UserListTypeEnum.UserListType.CRM_BASED,
            membership_life_span=ul.membership_life_span,
            match_rate_percentage=self.core.settings.match_rate_percent,
            crm_based_user_list=user_lists.CrmBasedUserListInfo(
                upload_key_type=enum_member(
                    k.CustomerMatchUploadKeyTypeEnum.CustomerMatchUploadKeyType, ul.upload_key_type
                )
            ),
        )
        size = self._reported_size(ul)
        if size is not None:  # "null if the number of users has not yet been determined"
            row.size_for_display = size
            row.size_for_search = size
            row.size_range_for_display = _size_range(size)
            row.size_range_for_search = _size_range(size)
        return row

    def _job_row(self, job: Job) -> Any:
        from google.ads.googleads.v26.common.types import consent as common_consent
        from google.ads.googleads.v26.common.types import offline_user_data as user_lists
        from google.ads.googleads.v26.enums.types import consent_status as cs
        from google.ads.googleads.v26.enums.types import (
            offline_user_data_job_failure_reason as fr,
        )
        from google.ads.googleads.v26.enums.types import (
            offline_user_data_job_match_rate_range as mr,
        )
        from google.ads.googleads.v26.enums.types import (
            offline_user_data_job_status as st,
        )
        from google.ads.googleads.v26.enums.types import (
            offline_user_data_job_type as ty,
        )
        from google.ads.googleads.v26.resources.types import offline_user_data_job as r

        return r.OfflineUserDataJob(
            resource_name=job.resource_name,
            id=job.id,
            type_=ty.OfflineUserDataJobTypeEnum.OfflineUserDataJobType.CUSTOMER_MATCH_USER_LIST,
            status=enum_member(st.OfflineUserDataJobStatusEnum.OfflineUserDataJobStatus, job.status),
            failure_reason=enum_member(
                fr.OfflineUserDataJobFailureReasonEnum.OfflineUserDataJobFailureReason, job.failure_reason
            ),
            operation_metadata=r.OfflineUserDataJobMetadata(
                match_rate_range=enum_member(
                    mr.OfflineUserDataJobMatchRateRangeEnum.OfflineUserDataJobMatchRateRange,
                    job.match_rate_range,
                )
            ),
            customer_match_user_list_metadata=user_lists.CustomerMatchUserListMetadata(
                user_list=job.user_list,
                consent=common_consent.Consent(
                    ad_user_data=enum_member(cs.ConsentStatusEnum.ConsentStatus, job.consent[0]),
                    ad_personalization=enum_member(cs.ConsentStatusEnum.ConsentStatus, job.consent[1]),
                ),
            ),
        )


def _size_range(size: int) -> Any:
    """The documented UserListSizeRange bucket of a size (UserListSizeRangeEnum,
    https://developers.google.com/google-ads/api/reference/rpc/v26/UserListSizeRangeEnum.UserListSizeRange)."""
    from google.ads.googleads.v26.enums.types import user_list_size_range as sr

    ranges = sr.UserListSizeRangeEnum.UserListSizeRange
    bounds = [
        (500, "LESS_THAN_FIVE_HUNDRED"),
        (1_000, "LESS_THAN_ONE_THOUSAND"),
        (10_000, "ONE_THOUSAND_TO_TEN_THOUSAND"),
        (50_000, "TEN_THOUSAND_TO_FIFTY_THOUSAND"),
        (100_000, "FIFTY_THOUSAND_TO_ONE_HUNDRED_THOUSAND"),
        (300_000, "ONE_HUNDRED_THOUSAND_TO_THREE_HUNDRED_THOUSAND"),
        (500_000, "THREE_HUNDRED_THOUSAND_TO_FIVE_HUNDRED_THOUSAND"),
        (1_000_000, "FIVE_HUNDRED_THOUSAND_TO_ONE_MILLION"),
        (2_000_000, "ONE_MILLION_TO_TWO_MILLION"),
        (3_000_000, "TWO_MILLION_TO_THREE_MILLION"),
        (5_000_000, "THREE_MILLION_TO_FIVE_MILLION"),
        (10_000_000, "FIVE_MILLION_TO_TEN_MILLION"),
        (20_000_000, "TEN_MILLION_TO_TWENTY_MILLION"),
        (30_000_000, "TWENTY_MILLION_TO_THIRTY_MILLION"),
        (50_000_000, "THIRTY_MILLION_TO_FIFTY_MILLION"),
    ]
    name = next((label for bound, label in bounds if size < bound), "OVER_FIFTY_MILLION")
    return enum_member(ranges, name)


def _pack(target: Any, message: Any) -> Any:
    target.Pack(message)
    return target
