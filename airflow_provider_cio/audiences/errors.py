"""Error classes of audience building, each with the ``error_class`` the on-call notifier routes on."""

from __future__ import annotations

from airflow_provider_cio.errors import CioError, ErrorClass


class AudienceError(CioError, RuntimeError):
    """Base of every audience-building failure."""

    error_class = ErrorClass.BUG


class AudienceInputError(AudienceError):
    """An input table or column the definition needs is missing (named in the message): upstream data."""

    error_class = ErrorClass.UPSTREAM_DATA


class AudienceDefinitionError(AudienceError):
    """A definition is malformed or a parameter is unknown or of the wrong type: configuration."""

    error_class = ErrorClass.CONFIGURATION


class SnapshotNotFound(AudienceError, LookupError):
    """No committed snapshot (no ``_manifest.json``) at the requested place."""

    error_class = ErrorClass.UPSTREAM_DATA
