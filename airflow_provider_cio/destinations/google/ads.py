"""Google Customer Match through the Google Ads API (``google-ads``): for accounts already allowlisted there.

One session = one offline user data job (its resource name is the session handle, so the ledger can resume it):
``open_session`` creates the job, ``send_batch`` appends operations with partial failure on, ``close_session``
runs the job and waits for it. Creates and removes never share a job (CONFLICTING_OPERATION).

Replace = ONE job whose first operation is ``remove_all``, followed by the creates, run once at the end. Google
applies a job as a unit when it runs, so the list is never emptied by us between a "remove job" and an "add job";
a crash before the run leaves the list untouched (the half-filled job is never run), and the re-run finishes it.

Running a job is not the job succeeding: ``close_session`` reports the batches whose members were not applied as
``failed_seqs`` (a job that ended FAILED applied none of its batches; an operation refused at add time by partial
failure was never in the job), so the sync core re-sends exactly those next run. Memberships lapse after the list's
``membership_life_span`` (at most 540 days since April 2025), counted from a member's latest upload: the core
re-sends members last uploaded ``refresh_after_days`` ago or more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from airflow_provider_cio.destinations.google.ads_jobs import wait_for_job
from airflow_provider_cio.destinations.google.errors import ads_error_codes, classify_ads
from airflow_provider_cio.destinations.google.identifiers import CONSENT_NOT_GRANTED, extract
from airflow_provider_cio.destinations.google.membership import (
    MAX_MEMBERSHIP_LIFE_SPAN_DAYS,
    OWNER,
    checked_membership,
)
from airflow_provider_cio.sync.destination import BatchResult, Destination, Member, Operation, SessionState
from airflow_provider_cio.sync.errors import (
    ConfigurationError,
    GuardrailBlocked,
    PlatformError,
    StillProcessing,
)
from airflow_provider_cio.sync.naming import refuse_foreign_audience, validate_platform_name

log = logging.getLogger(__name__)

MAX_IDENTIFIERS_PER_MEMBER = 20
_LIST_FIELDS = (
    "user_list.id, user_list.resource_name, user_list.name, user_list.size_for_display, "
    "user_list.size_for_search, user_list.match_rate_percentage, user_list.description, "
    "user_list.membership_life_span"
)


def build_ads_client(
    *,
    developer_token: str,
    credentials: Any,
    endpoint: str | None = None,
    login_customer_id: str | None = None,
    version: str = "v26",
) -> Any:
    """A ``GoogleAdsClient`` (proto-plus). Production: OAuth credentials, default endpoint. Tests/devstack:
    ``AnonymousCredentials()`` and ``endpoint="127.0.0.1:PORT"`` of a TLS emulator whose certificate the process
    trusts (``GoogleEmulator.trust()``) - the client only ever opens TLS channels."""
    from google.ads.googleads.client import GoogleAdsClient

    return GoogleAdsClient(
        credentials=credentials,
        developer_token=developer_token,
        endpoint=endpoint,
        login_customer_id=login_customer_id.replace("-", "") if login_customer_id else None,
        version=version,
        use_proto_plus=True,
    )


def _gaql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class GoogleAdsDestination(Destination):
    """``Destination`` for Google (platform "google") on Google Ads offline user data jobs."""

    platform = "google"
    max_batch_size = 10_000
    max_identifiers_per_member = MAX_IDENTIFIERS_PER_MEMBER  # what the API takes; more are left out

    def __init__(
        self,
        client: Any,
        *,
        customer_id: str,
        api_version: str = "v26",
        membership_life_span_days: int = MAX_MEMBERSHIP_LIFE_SPAN_DAYS,
        refresh_after_days: int | None = None,
        identifiers_per_request: int = 10_000,
        poll_interval_seconds: float = 30.0,
        max_polls: int = 240,
        concurrent_modification_retry_after: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not customer_id.replace("-", "").isdigit():
            raise ConfigurationError("google ads: customer_id must be digits (dashes allowed)")
        if not 0 < identifiers_per_request <= 100_000:
            raise ConfigurationError("google ads: identifiers_per_request must be in 1..100000")
        self._refresh_explicit = refresh_after_days is not None
        span, refresh = checked_membership("google ads", membership_life_span_days, refresh_after_days)
        self.refresh_after_days: int | None = refresh
        self.client = client
        self.customer_id = customer_id.replace("-", "")
        self.version = api_version
        self.membership_life_span_days = span
        self.identifiers_per_request = identifiers_per_request
        # An identifier budget: the core weighs members with rows_for(), so one batch is one request and a retried
        # batch never re-sends an earlier request's operations.
        self.max_batch_size = identifiers_per_request
        self.poll_interval_seconds = poll_interval_seconds
        self.max_polls = max_polls
        self.concurrent_retry_after = concurrent_modification_retry_after
        self.sleep = sleep

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _service(self, name: str) -> Any:
        return self.client.get_service(name, version=self.version)

    def _type(self, name: str) -> Any:
        return self.client.get_type(name, version=self.version)

    def _enum(self, name: str) -> Any:
        return getattr(self.client.enums, name)

    def _fail(self, exc: BaseException, action: str) -> Exception:
        return classify_ads(
            exc,
            action=action,
            failure_type=type(self._type("GoogleAdsFailure")),
            concurrent_retry_after=self.concurrent_retry_after,
        )

    def _search(self, query: str, action: str) -> list[Any]:
        try:
            return list(self._service("GoogleAdsService").search(customer_id=self.customer_id, query=query))
        except Exception as exc:
            raise self._fail(exc, action) from exc

    def _list_resource(self, audience_id: str) -> str:
        return f"customers/{self.customer_id}/userLists/{audience_id}"

    def rows_for(self, member: Member) -> int:
        """A member's weight in a batch: the identifiers it will carry (1..20)."""
        ids, _ = extract(member, max_identifiers=MAX_IDENTIFIERS_PER_MEMBER)
        return max(1, ids.count() if ids else 1)

    # -- Destination ------------------------------------------------------------------------------------------
    def ensure_audience(self, name: str, *, description: str = "", known_id: str | None = None) -> str:
        """Find the Customer Match list by exact name (refusing one whose description names another owner), or create
        a CONTACT_INFO list; returns its numeric id. Google Ads list names are unique, so ``known_id`` never decides."""
        validate_platform_name(name)
        rows = self._search(
            f"SELECT {_LIST_FIELDS} FROM user_list WHERE user_list.name = {_gaql_string(name)}", "find list"
        )
        if rows:
            found = rows[0].user_list
            refuse_foreign_audience("google", name, found.description, description)
            self._adopt_life_span(
                name,
                int(found.membership_life_span)
                if "membership_life_span" in found
                else MAX_MEMBERSHIP_LIFE_SPAN_DAYS,
            )
            return str(found.id)
        operation = self._type("UserListOperation")
        user_list = operation.create
        user_list.name = name
        user_list.description = description
        user_list.membership_life_span = self.membership_life_span_days
        user_list.crm_based_user_list.upload_key_type = self._enum(
            "CustomerMatchUploadKeyTypeEnum"
        ).CONTACT_INFO
        try:
            response = self._service("UserListService").mutate_user_lists(
                customer_id=self.customer_id, operations=[operation]
            )
        except Exception as exc:
            raise self._fail(exc, "create list") from exc
        resource_name = response.results[0].resource_name
        log.info("google ads: created Customer Match list %s", resource_name)
        return resource_name.rsplit("/", 1)[1]

    def _adopt_life_span(self, name: str, days: int) -> None:
        """Follow the life span of a list found on the platform: Google counts memberships by the list's value."""
        if days == self.membership_life_span_days:
            return
        if not 1 <= days <= MAX_MEMBERSHIP_LIFE_SPAN_DAYS:
            unlimited = " (the old 'no expiration')" if days >= 10_000 else ""
            raise ConfigurationError(
                f"google ads: Customer Match list {name!r} has membership_life_span {days}{unlimited}; Google allows "
                f"1..{MAX_MEMBERSHIP_LIFE_SPAN_DAYS} days since April 2025, so its members' real lapse date is "
                "unknown - set the list's membership duration to at most 540 days in Google Ads, then re-run",
                who_must_act="an admin of the Google Ads account",
            )
        # The sync core plans this run's refreshes with refresh_after_days before it calls ensure_audience, so a
        # list keeping members for less time than that cannot be followed silently: its members would lapse first.
        if self.refresh_after_days is not None and self.refresh_after_days >= days:
            key = "refresh_after_days" if self._refresh_explicit else "membership_life_span_days"
            raise ConfigurationError(
                f"google ads: the existing list {name!r} keeps members {days} days, but they are re-sent only after "
                f"{self.refresh_after_days} (refresh_after_days): they would lapse first - set {key} on the "
                f"connection to match the list ({days} days, refresh below it)",
                who_must_act=OWNER,
            )
        log.warning(
            "google ads: list %s keeps members %s days, not the configured %s; using the list's value",
            name,
            days,
            self.membership_life_span_days,
        )
        self.membership_life_span_days = days
        if not self._refresh_explicit:
            self.refresh_after_days = days // 3

    def open_session(self, audience_id: str, operation: Operation, *, total_members: int) -> SessionState:
        if operation == "replace" and total_members <= 0:
            raise GuardrailBlocked(
                "empty_replace",
                "a replace with zero members would wipe the Google audience",
                override="send explicit removals instead of a replace",
            )
        job = self._type("OfflineUserDataJob")
        job.type_ = self._enum("OfflineUserDataJobTypeEnum").CUSTOMER_MATCH_USER_LIST
        metadata = job.customer_match_user_list_metadata
        metadata.user_list = self._list_resource(audience_id)
        granted = self._enum("ConsentStatusEnum").GRANTED
        metadata.consent.ad_user_data = (
            granted  # job-level consent: members without it are not sent (send_batch)
        )
        metadata.consent.ad_personalization = granted
        service = self._service("OfflineUserDataJobService")
        try:
            response = service.create_offline_user_data_job(customer_id=self.customer_id, job=job)
        except Exception as exc:
            raise self._fail(exc, "create job") from exc
        handle: dict[str, Any] = {
            "backend": "google_ads",
            "job": response.resource_name,
            "operations_sent": 0,
            "seqs": [],  # batches with at least one operation in the job: a FAILED job applied none of them
            "refused": {},  # str(seq) -> {reason: count} refused at add time (partial failure): never in the job
        }
        session = SessionState(operation=operation, handle=handle)
        if operation == "replace":
            remove_all = self._type("OfflineUserDataJobOperation")
            remove_all.remove_all = True
            self._add_operations(handle["job"], [remove_all], "add remove_all")
            handle["remove_all_sent"] = True
        log.info("google ads: opened %s job %s", operation, handle["job"])
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
        removing = session.operation == "remove"
        failed: dict[int, str] = {}
        operations: list[tuple[int, Any, int]] = []  # (batch index, operation, identifier count)
        retained = 0
        for index, member in enumerate(batch):
            if removing and member.retained:
                # The person stays: a removal takes whoever it matches (a stored user merged from uploads sharing a
                # value, under one reading), so their lost identifiers are not sent; they lapse with the membership
                # life span or go with the next replace's remove_all. As the Data Manager destination does.
                retained += 1
                continue
            if not removing and not member.consent:
                failed[index] = (
                    CONSENT_NOT_GRANTED  # job-level consent is GRANTED; never send a denied member
                )
                continue
            ids, problem = extract(member, max_identifiers=MAX_IDENTIFIERS_PER_MEMBER)
            if ids is None:
                failed[index] = problem or "INVALID"
                continue
            operation = self._type("OfflineUserDataJobOperation")
            user_data = operation.remove if removing else operation.create
            for email in ids.emails:
                identifier = self._type("UserIdentifier")
                identifier.hashed_email = email
                user_data.user_identifiers.append(identifier)
            for phone in ids.phones:
                identifier = self._type("UserIdentifier")
                identifier.hashed_phone_number = phone
                user_data.user_identifiers.append(identifier)
            if ids.address:
                identifier = self._type("UserIdentifier")
                info = identifier.address_info
                info.hashed_first_name = ids.address.given_name
                info.hashed_last_name = ids.address.family_name
                info.country_code = ids.address.region_code
                info.postal_code = ids.address.postal_code
                user_data.user_identifiers.append(identifier)
            operations.append((index, operation, ids.count()))
        refused: dict[str, int] = {}
        in_job = 0
        for chunk in self._chunks(operations):
            chunk_failed = self._add_operations(
                session.handle["job"], [op for _, op, _ in chunk], f"add operations (batch {seq})"
            )
            for position, reason in chunk_failed.items():
                failed[chunk[position][0]] = reason
                refused[reason] = refused.get(reason, 0) + 1
            in_job += len(chunk) - len(chunk_failed)
        # Recorded per seq (a retried batch overwrites its own entry), so the handle stays right on resume.
        handle = session.handle
        handle["operations_sent"] = handle.get("operations_sent", 0) + in_job
        seqs = handle.setdefault("seqs", [])  # tracked even when none went in: a job with nothing is not run
        if in_job and seq not in seqs:
            handle["seqs"] = sorted([*handle["seqs"], seq])
        if refused:
            handle.setdefault("refused", {})[str(seq)] = refused
        else:
            handle.setdefault("refused", {}).pop(str(seq), None)
        if retained:
            handle.setdefault("retained_not_sent", {})[str(seq)] = retained
        reasons: dict[str, int] = {}
        for reason in failed.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        return BatchResult(
            received=len(batch) - len(failed),
            invalid=len(failed),
            request_id=session.handle["job"],
            failed_indexes=tuple(sorted(failed)),
            failure_reasons=reasons,
        )

    def close_session(self, audience_id: str, session: SessionState) -> dict[str, Any]:
        """Run the job once (a resumed session whose run already went out is just awaited), wait for its final
        status, and say which batches were not applied: every batch of a FAILED job, and the batches whose
        operations were refused at add time (``failed_seqs``, with ``failed_reasons`` counting members)."""
        handle = session.handle
        resource_name = handle["job"]
        refused: dict[str, dict[str, int]] = dict(handle.get("refused") or {})
        if not handle.get("operations_sent") and not handle.get("remove_all_sent") and "seqs" in handle:
            # Nothing reached the job: running it would change nothing (and an empty job is not worth a run).
            status: dict[str, Any] = {"resource_name": resource_name, "status": "NOT_RUN", "done": True}
        else:
            if not handle.get("run_requested"):
                try:
                    self._service("OfflineUserDataJobService").run_offline_user_data_job(
                        resource_name=resource_name
                    )
                except Exception as exc:
                    if "JOB_ALREADY_STARTED" not in exc_codes(
                        exc, self
                    ):  # a resumed session: the run went out
                        raise self._fail(exc, "run job") from exc
                handle["run_requested"] = True
            try:
                status = wait_for_job(
                    self.client,
                    resource_name,
                    version=self.version,
                    poll_interval_seconds=self.poll_interval_seconds,
                    max_polls=self.max_polls,
                    sleep=self.sleep,
                )
            except PlatformError:
                raise
            except Exception as exc:
                raise self._fail(exc, "poll job") from exc
        failed_seqs = {int(seq) for seq in refused}
        reasons: dict[str, int] = {}
        for counts in refused.values():
            for reason, count in counts.items():
                reasons[reason] = reasons.get(reason, 0) + int(count)
        if status["status"] in (
            "FAILED",
            "NOT_FOUND",
        ):  # NOT_FOUND: the job is gone, nothing provably applied
            if "seqs" not in handle:  # a session opened before batches were tracked: which ones is unknown
                raise PlatformError(
                    f"google ads: job {resource_name} ended {status['status']} "
                    f"(failure_reason={status['failure_reason']}); nothing from this session was applied - "
                    "re-run the sync to upload again in a new job"
                )
            failed_seqs |= set(handle["seqs"])
            reason = (
                "JOB_NOT_FOUND"
                if status["status"] == "NOT_FOUND"
                else f"JOB_FAILED_{status['failure_reason'] or 'UNSPECIFIED'}"
            )
            reasons[reason] = reasons.get(reason, 0) + int(handle.get("operations_sent", 0))
            log.warning(
                "google ads: job %s ended FAILED (%s): %s batch(es), %s member(s) not applied",
                resource_name,
                status["failure_reason"],
                len(handle["seqs"]),
                handle.get("operations_sent", 0),
            )
        elif status["status"] not in ("SUCCESS", "NOT_RUN"):
            raise StillProcessing(
                f"google ads: job {resource_name} is {status['status']}, not finished; nothing is known to be applied",
                retry_after=self.poll_interval_seconds,
            )
        status["operations_sent"] = handle.get("operations_sent", 0)
        status["operation"] = session.operation
        status["applied"] = status["status"] == "SUCCESS"
        status["failed_seqs"] = sorted(failed_seqs)
        status["failed_reasons"] = reasons
        if handle.get("retained_not_sent"):
            status["retained_not_sent"] = sum(int(n) for n in handle["retained_not_sent"].values())
        return status

    def bound_worker_wait(self, seconds: float) -> None:
        """Poll the job at most about ``seconds`` in the worker (a deferrable sync waits longer as a deferral)."""
        polls = max(1, int(seconds / max(1.0, self.poll_interval_seconds)))
        self.max_polls = min(self.max_polls, polls)

    def describe(self, audience_id: str) -> dict[str, Any]:
        """Google's size estimates (None while Google has not determined them; they lag uploads and lapses)."""
        rows = self._search(
            f"SELECT {_LIST_FIELDS} FROM user_list WHERE user_list.resource_name = "
            f"{_gaql_string(self._list_resource(audience_id))}",
            "describe list",
        )
        if not rows:
            raise ConfigurationError(
                f"google ads: user list {audience_id} not found in customer {self.customer_id}"
            )
        user_list = rows[0].user_list

        def optional(field: str) -> int | None:
            return int(getattr(user_list, field)) if field in user_list else None

        return {
            "user_list_id": str(user_list.id),
            "name": user_list.name,
            "size_for_display": optional("size_for_display"),
            "size_for_search": optional("size_for_search"),
            "match_rate_percentage": int(user_list.match_rate_percentage),
            "membership_life_span": optional("membership_life_span"),
        }

    def ping(self) -> bool:
        """One cheap authenticated call."""
        self._search("SELECT customer.id FROM customer LIMIT 1", "ping")
        return True

    # -- internals --------------------------------------------------------------------------------------------
    def _chunks(self, operations: list[tuple[int, Any, int]]) -> list[list[tuple[int, Any, int]]]:
        """Split by identifier count (recommended ~10,000 per request; hard limit 100,000)."""
        chunks: list[list[tuple[int, Any, int]]] = []
        current: list[tuple[int, Any, int]] = []
        count = 0
        for item in operations:
            if current and count + item[2] > self.identifiers_per_request:
                chunks.append(current)
                current, count = [], 0
            current.append(item)
            count += item[2]
        if current:
            chunks.append(current)
        return chunks

    def _add_operations(self, job: str, operations: list[Any], action: str) -> dict[int, str]:
        """Append operations with partial failure on; returns failed operation position -> error code."""
        service = self._service("OfflineUserDataJobService")
        request = self._type("AddOfflineUserDataJobOperationsRequest")
        request.resource_name = job
        request.enable_partial_failure = True
        request.operations.extend(operations)
        try:
            response = service.add_offline_user_data_job_operations(request=request)
        except Exception as exc:
            raise self._fail(exc, action) from exc
        return self._partial_failures(response)

    def _partial_failures(self, response: Any) -> dict[int, str]:
        status = response.partial_failure_error
        if not status or not status.details:
            return {}
        failure_type = type(self._type("GoogleAdsFailure"))
        failed: dict[int, str] = {}
        for detail in status.details:
            failure = failure_type.deserialize(detail.value)
            for error, (_, code) in zip(failure.errors, ads_error_codes(failure), strict=True):
                path = error.location.field_path_elements
                if path:
                    failed.setdefault(int(path[0].index), code)
        return failed


def exc_codes(exc: BaseException, dest: GoogleAdsDestination) -> list[str]:
    """Error codes carried by a Google Ads exception (empty when it carries none)."""
    from airflow_provider_cio.destinations.google.errors import ads_failure_from

    failure = ads_failure_from(exc, type(dest._type("GoogleAdsFailure")))
    return [code for _, code in ads_error_codes(failure)] if failure is not None else []
