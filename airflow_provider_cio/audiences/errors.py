"""Error classes of audience building, each with the ``error_class`` the on-call notifier routes on."""

from __future__ import annotations


class AudienceError(RuntimeError):
    """Base of every audience-building failure."""

    error_class = "bug"


class AudienceInputError(AudienceError):
    """An input table or column the definition needs is missing (named in the message): upstream data."""

    error_class = "upstream_data"


class AudienceDefinitionError(AudienceError):
    """A definition is malformed or a parameter is unknown or of the wrong type: configuration."""

    error_class = "configuration"


class SnapshotNotFound(AudienceError, LookupError):
    """No committed snapshot (no ``_manifest.json``) at the requested place."""

    error_class = "upstream_data"
