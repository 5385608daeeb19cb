"""The typed error vocabulary: what fail-fast and the on-call triage act on."""

from __future__ import annotations

import pytest

from airflow_provider_cio.customerio.errors import CustomerIoAuthError, CustomerIoUnavailable
from airflow_provider_cio.errors import CioError, ErrorClass, declared_class
from airflow_provider_cio.landing.reader import PartitionNotFound
from airflow_provider_cio.notifications.triage import RUNBOOK_SECTIONS, classify, triage
from airflow_provider_cio.sync.errors import ConfigurationError, GuardrailBlocked, PlatformError


def test_only_platform_errors_and_bugs_are_retried() -> None:
    assert {c for c in ErrorClass if c.retryable} == {ErrorClass.PLATFORM, ErrorClass.BUG}


def test_every_class_has_a_runbook_section_and_keeps_its_readable_value() -> None:
    assert set(RUNBOOK_SECTIONS) == set(ErrorClass)
    assert f"[{ErrorClass.UPSTREAM_DATA.upper()}]" == "[UPSTREAM_DATA]"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConfigurationError("token expired"), ErrorClass.CONFIGURATION),
        (PlatformError("503"), ErrorClass.PLATFORM),
        (GuardrailBlocked("max_shrink", "lost 40%", override="allow_shrink"), ErrorClass.UPSTREAM_DATA),
        (CustomerIoAuthError("401"), ErrorClass.CONFIGURATION),
        (CustomerIoUnavailable("502"), ErrorClass.PLATFORM),
        (PartitionNotFound("no manifest"), ErrorClass.UPSTREAM_DATA),
        (CioError("undeclared"), ErrorClass.BUG),
    ],
)
def test_our_exceptions_declare_their_class(exc: BaseException, expected: ErrorClass) -> None:
    assert isinstance(exc, CioError)
    assert declared_class(exc) is expected
    assert classify(exc) is expected


def test_a_foreign_exception_declaring_a_valid_class_counts_and_an_invalid_one_does_not() -> None:
    class Declared(RuntimeError):
        error_class = "platform"

    class Nonsense(RuntimeError):
        error_class = "whoever"

    assert declared_class(Declared()) is ErrorClass.PLATFORM
    assert declared_class(Nonsense()) is None
    assert classify(Nonsense()) is ErrorClass.BUG
    assert declared_class(ValueError("plain")) is None


def test_the_declared_class_is_found_through_the_chain() -> None:
    try:
        try:
            raise ConfigurationError("token expired", who_must_act="the Meta admin")
        except ConfigurationError as inner:
            raise KeyError("wrapped") from inner
    except KeyError as outer:
        result = triage(outer, dag_id="d", task_id="t", run_id="r", partition="p")
    assert result.error_class is ErrorClass.CONFIGURATION
    assert result.runbook_url.endswith("#configuration-errors")
    assert "ConfigurationError" in result.cause
