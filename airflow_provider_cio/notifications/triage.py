"""Failure triage, Airflow-free: error class, one-line cause, runbook section, and PII scrubbing.

Every exception this provider raises is a ``CioError`` declaring its ``ErrorClass``; a foreign one (the Azure SDK's,
Airflow's, the network's) is classified by its type's name (importing those packages here would tie the triage to
them), and what cannot be classified is a ``bug`` (the code, not the data or a platform, must change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from airflow_provider_cio.errors import ErrorClass, declared_class

ERROR_CLASSES = tuple(ErrorClass)

RUNBOOK_SECTIONS = {
    ErrorClass.CONFIGURATION: "configuration-errors",
    ErrorClass.UPSTREAM_DATA: "upstream-data-errors",
    ErrorClass.PLATFORM: "platform-errors",
    ErrorClass.BUG: "bugs",
}
GUARD_SECTIONS = {
    "min_size": "guard-min_size",
    "max_shrink": "guard-max_shrink",
    "empty_snapshot": "guard-empty_snapshot",
    "quality_verdict": "guard-quality_verdict",
}

# Foreign exceptions only (ours declare their class): Blob / HTTP / gRPC transport trouble is the platform's;
# auth trouble and a missing Airflow connection are configuration.
_BY_TYPE_NAME = {
    "ClientAuthenticationError": ErrorClass.CONFIGURATION,
    "AirflowNotFoundException": ErrorClass.CONFIGURATION,
    "ServiceRequestError": ErrorClass.PLATFORM,
    "ServiceResponseError": ErrorClass.PLATFORM,
    "HttpResponseError": ErrorClass.PLATFORM,
    "ConnectionError": ErrorClass.PLATFORM,
    "TimeoutError": ErrorClass.PLATFORM,
    "ReadTimeout": ErrorClass.PLATFORM,
    "ConnectTimeout": ErrorClass.PLATFORM,
}

# the local part takes every character RFC 5322 allows unquoted (``o'brien@``, ``a!b@``), not just the common ones
_EMAIL = re.compile(r"([^\s@<>()\[\],;:\"])[^\s@<>()\[\],;:\"]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
_PHONE_CANDIDATE = re.compile(r"(?<![\w.:/=-])\+?\(?\d[\d\s().\-]{6,}\d(?![\w.:/-])")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _mask_phone(match: re.Match[str]) -> str:
    """A run of 10-15 digits (optionally +, spaces, dashes, parentheses) reads as a phone; dates do not."""
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if 10 <= digits <= 15 and not _DATE.match(text.strip()):
        return "<phone>"
    return text


_SECRETISH = re.compile(
    r"(?i)\b(bearer|token|key|secret|password|sig)=?\s*[:=]?\s*([A-Za-z0-9._~+/\-]{12,}=*)"
)


def scrub(text: str) -> str:
    """Mask anything shaped like an email, a phone number or a secret (defense in depth: our messages carry none)."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _PHONE_CANDIDATE.sub(_mask_phone, text)
    return _SECRETISH.sub(lambda m: f"{m.group(1)}=<redacted>", text)


def declared(exc: BaseException | None) -> BaseException | None:
    """The exception in the chain that says what it is (declares an ``ErrorClass``), else the outermost one."""
    seen: set[int] = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if declared_class(current) is not None:
            return current
        current = current.__cause__ or current.__context__
    if exc is not None and getattr(exc, WRAPPER_MARK, False) and exc.__cause__ is not None:
        return exc.__cause__  # fail_fast's wrapper carries the headline; the cause says what failed
    return exc


# set on the exception ``fail_fast`` raises in place of the original (its message is ``headline()``)
WRAPPER_MARK = "cio_headline"


def classify(exc: BaseException | None) -> ErrorClass:
    """The error class of a failure: the first in its chain that declares one or is known by type, else ``bug``."""
    seen: set[int] = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = declared_class(current) or _by_type(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return ErrorClass.BUG


# Azure Storage answers 401/403 when the credentials may not make the request: a SAS without the permission
# (AuthorizationPermissionMismatch), out of its validity window or wrongly signed (AuthenticationFailed), a disabled
# account, a missing RBAC role (AuthorizationFailure). No retry changes that: whoever owns the connection acts.
# Sources: "Common REST API error codes", https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes
# and "Shared access signature error codes", https://learn.microsoft.com/rest/api/storageservices/sas-error-codes
_REFUSED_STATUSES = (401, 403)


def _by_type(exc: BaseException) -> ErrorClass | None:
    """The class of a foreign exception by its type (and, for an HTTP error, its status), else None."""
    for klass in type(exc).__mro__:
        if klass.__name__ == "HttpResponseError" and getattr(exc, "status_code", None) in _REFUSED_STATUSES:
            return ErrorClass.CONFIGURATION
        if klass.__name__ in _BY_TYPE_NAME:
            return _BY_TYPE_NAME[klass.__name__]
    return None


def who_acts(exc: BaseException | None) -> str:
    """One line for a refused Blob request (the SDK's own message does not say who can fix it), else ''."""
    seen: set[int] = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "status_code", None) in _REFUSED_STATUSES and any(
            k.__name__ == "HttpResponseError" for k in type(current).__mro__
        ):
            code = getattr(current, "error_code", None)
            code = getattr(code, "value", code)
            return (
                f"Blob refused the request ({getattr(current, 'status_code', '?')} {code or 'no error code'}): the "
                "connection's credentials lack the permission or have expired (SAS permissions/expiry, RBAC role). "
                "Who acts: the owner of the Blob connection renews or widens them, then clears the task; "
                "retries cannot fix it."
            )
        current = current.__cause__ or current.__context__
    return ""


def one_line_cause(exc: BaseException | None, limit: int = 300) -> str:
    if exc is None:
        return "no exception recorded (the task was killed, timed out, or marked failed externally)"
    first = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    text = scrub(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Triage:
    """Everything the on-call message says about one failed task."""

    dag_id: str
    task_id: str
    run_id: str
    partition: str
    error_class: ErrorClass
    cause: str
    summary: str = ""
    runbook_url: str = ""
    log_url: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def message(self) -> str:
        lines = [
            f"[{self.error_class.upper()}] {self.dag_id}.{self.task_id} failed for partition {self.partition}",
            f"cause: {self.cause}",
        ]
        if self.summary:
            lines += ["", self.summary]
        lines += ["", f"runbook: {self.runbook_url}"]
        if self.log_url:
            lines.append(f"log: {self.log_url}")
        lines.append(f"run: {self.run_id}")
        return "\n".join(lines)


def headline(exc: BaseException | None, *, runbook_base: str = "docs/runbook.md") -> str:
    """The answer on-call needs, as the first lines of a failed task's exception (before its traceback): the error
    class and cause, the gate/guard summary or who acts, and the runbook link."""
    result = triage(exc, dag_id="", task_id="", run_id="", partition="", runbook_base=runbook_base)
    lines = [f"[{result.error_class.upper()}] {result.cause}"]
    summary = result.summary.splitlines()
    cause_text = one_line_cause(declared(exc)).split(": ", 1)[-1]
    if summary and summary[0].strip() and summary[0].strip() in cause_text:
        summary = summary[1:]  # the cause line already says it
    lines += [line for line in summary if line.strip()]
    lines.append(f"runbook: {result.runbook_url}")
    return "\n".join(lines)


def triage(
    exc: BaseException | None,
    *,
    dag_id: str,
    task_id: str,
    run_id: str,
    partition: str,
    log_url: str = "",
    runbook_base: str = "docs/runbook.md",
) -> Triage:
    """Build the on-call triage of one failure. Gate and guard failures carry their full summary as the message."""
    error_class = classify(exc)
    exc = declared(exc)
    guard = getattr(exc, "guard", None)
    anchor = (
        GUARD_SECTIONS.get(str(guard), RUNBOOK_SECTIONS[error_class])
        if guard
        else RUNBOOK_SECTIONS[error_class]
    )
    summary = ""
    if exc is not None and (hasattr(exc, "result") or guard):
        summary = scrub(str(exc))
    elif error_class is ErrorClass.CONFIGURATION:
        summary = who_acts(exc)
    return Triage(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        partition=partition,
        error_class=error_class,
        cause=one_line_cause(exc),
        summary=summary,
        runbook_url=f"{runbook_base}#{anchor}",
        log_url=log_url,
    )
