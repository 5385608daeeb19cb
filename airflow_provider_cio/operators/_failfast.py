"""Failures that retries cannot fix (bad credentials, a refused Blob request, a failed gate, a blocked guard) fail
the task at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

NOT_RETRYABLE = ("configuration", "upstream_data")


@contextmanager
def fail_fast() -> Iterator[None]:
    """Re-raise configuration and upstream-data errors as ``AirflowFailException`` (no retries burned), keeping
    the original as the cause so the on-call notifier still sees its class and summary."""
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_cio.notifications.triage import classify

    try:
        yield
    except AirflowFailException:
        raise
    except Exception as exc:
        # classified as the notifier classifies it: a foreign error (Blob's 403) fails fast as ours do
        if classify(exc) in NOT_RETRYABLE:
            raise AirflowFailException(str(exc)) from exc
        raise
