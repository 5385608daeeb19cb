"""Errors of the Customer.io client, each saying who must act; messages name endpoint and status, never secrets."""

from __future__ import annotations

from airflow_provider_cio.errors import CioError, ErrorClass


class CustomerIoError(CioError, RuntimeError):
    """Base of every Customer.io failure. ``error_class`` feeds the on-call notifier."""

    error_class = ErrorClass.PLATFORM

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class CustomerIoAuthError(CustomerIoError):
    """401/403: the App API key is wrong, revoked or lacks scope. A human must fix the connection; never retried."""

    error_class = ErrorClass.CONFIGURATION


class CustomerIoRequestError(CustomerIoError):
    """A 4xx other than auth and throttling: our request is wrong (a bug or a bad parameter); never retried."""

    error_class = ErrorClass.BUG


class CustomerIoRateLimited(CustomerIoError):
    """429 persisted past the retry budget. ``retry_after`` is the server's last hint in seconds, if any."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status=status)
        self.retry_after = retry_after


class CustomerIoUnavailable(CustomerIoError):
    """5xx, 408, timeouts or connection failures persisted past the retry budget."""


class CustomerIoExportFailed(CustomerIoError):
    """Customer.io reported the export as failed (or it never finished in time)."""


class CustomerIoExportTimeout(CustomerIoExportFailed):
    """The export was still pending when our wait budget ran out; it may still finish later."""


class CustomerIoDownloadError(CustomerIoError):
    """The export file could not be downloaded completely; no partial content was handed out."""


class ExportFormatError(CustomerIoError):
    """The export CSV does not have the columns we need (upstream data, not a platform failure)."""

    error_class = ErrorClass.UPSTREAM_DATA
