"""Customer.io: the App API client, export CSV conversion and the native data-out file formats."""

from airflow_provider_cio.customerio.errors import (
    CustomerIoAuthError,
    CustomerIoDownloadError,
    CustomerIoError,
    CustomerIoExportFailed,
    CustomerIoExportTimeout,
    CustomerIoRateLimited,
    CustomerIoRequestError,
    CustomerIoUnavailable,
    ExportFormatError,
)

__all__ = [
    "CustomerIoAuthError",
    "CustomerIoDownloadError",
    "CustomerIoError",
    "CustomerIoExportFailed",
    "CustomerIoExportTimeout",
    "CustomerIoRateLimited",
    "CustomerIoRequestError",
    "CustomerIoUnavailable",
    "ExportFormatError",
]
