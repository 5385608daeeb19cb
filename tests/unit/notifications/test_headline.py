"""The failed task's exception leads with the on-call answer, and its runbook link is a URL from the docs setting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_cio.notifications.links import default_docs_base, docs_base_url, runbook_base
from airflow_provider_cio.notifications.notifier import CioFailureNotifier
from airflow_provider_cio.notifications.triage import headline, triage
from airflow_provider_cio.operators._failfast import fail_fast
from airflow_provider_cio.sync.errors import ConfigurationError, GuardrailBlocked, PlatformError


def test_the_default_runbook_link_is_a_url_to_this_checkouts_runbook() -> None:
    assert default_docs_base().startswith("file:///")
    assert default_docs_base().endswith("/docs")


def test_the_docs_base_url_setting_builds_the_runbook_link(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CIO__DOCS_BASE_URL", "https://git.example.org/cio/blob/main/docs/")
    assert docs_base_url() == "https://git.example.org/cio/blob/main/docs"
    assert runbook_base() == "https://git.example.org/cio/blob/main/docs/runbook.md"
    notifier = CioFailureNotifier()
    result = notifier.build({"exception": PlatformError("503"), "run_id": "r1", "ds": "2026-11-01"})
    assert result.runbook_url == "https://git.example.org/cio/blob/main/docs/runbook.md#platform-errors"


def test_a_blocked_guard_fails_at_once_with_the_summary_as_the_first_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW__CIO__DOCS_BASE_URL", "https://docs.example.org")
    blocked = GuardrailBlocked(
        "max_shrink", "audience would shrink from 1000 to 100 (90%)", override="allow_shrink=True"
    )
    with pytest.raises(AirflowFailException) as caught, fail_fast():
        raise blocked
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("[UPSTREAM_DATA] GuardrailBlocked: ")
    assert "90%" in lines[0]
    assert any("allow_shrink=True" in line for line in lines)
    assert lines[-1] == "runbook: https://docs.example.org/runbook.md#guard-max_shrink"
    assert caught.value.__cause__ is blocked
    # the notifier still triages the original, not the wrapper
    result = triage(caught.value, dag_id="d", task_id="t", run_id="r", partition="p")
    assert result.cause.startswith("GuardrailBlocked:")
    assert result.runbook_url.endswith("#guard-max_shrink")


def test_a_configuration_error_names_who_acts_first() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException) as caught, fail_fast():
        raise ConfigurationError("Meta token expired (code 190)", who_must_act="the token owner")
    first = str(caught.value).splitlines()[0]
    assert first.startswith("[CONFIGURATION] ConfigurationError: Meta token expired (code 190)")


def test_a_retryable_error_is_raised_unchanged_after_its_headline_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = PlatformError("Graph answered 503", retry_after=30)
    with caplog.at_level("ERROR"), pytest.raises(PlatformError) as caught, fail_fast():
        raise error
    assert caught.value is error
    logged = [r.getMessage() for r in caplog.records if r.name.endswith("_failfast")]
    assert logged and logged[0].startswith("[PLATFORM] PlatformError: Graph answered 503")


@given(
    st.text(min_size=1, max_size=60).filter(lambda t: t.strip() != ""),
    # a masked email keeps its first character: a 1-character or starred local part reads the same masked
    st.emails().filter(lambda e: len(e.split("@")[0]) > 1 and "*" not in e),
)
def test_the_headline_never_carries_an_email(text: str, email: str) -> None:
    out = headline(ConfigurationError(f"{text} {email}", who_must_act="ops"), runbook_base="https://d/r.md")
    assert email not in out
    assert out.splitlines()[0].startswith("[CONFIGURATION]")
    assert out.splitlines()[-1].startswith("runbook: https://d/r.md#")


def test_the_rest_of_a_multi_line_message_follows_the_headline() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException) as caught, fail_fast():
        raise ConfigurationError(
            "Google refused the upload\nthe account is not allowlisted for Customer Match",
            who_must_act="ads admin",
        )
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("[CONFIGURATION] ConfigurationError: Google refused the upload")
    assert lines[1].startswith("runbook: ")
    assert lines[2] == "the account is not allowlisted for Customer Match (who must act: ads admin)"
