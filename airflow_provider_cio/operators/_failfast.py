"""Failures that retries cannot fix (bad credentials, a refused Blob request, a failed gate, a blocked guard) fail
the task at once, and every failure's log leads with the on-call answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def fail_fast() -> Iterator[None]:
    """Re-raise configuration and upstream-data errors as ``AirflowFailException`` (no retries burned) whose message
    starts with the on-call headline (class, cause, summary, runbook URL), keeping the original as the cause so the
    notifier still sees its class and summary. Retryable errors are re-raised unchanged, after the same headline is
    logged, so the log shows the answer before the traceback either way."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from airflow_provider_cio.notifications.links import runbook_base
    from airflow_provider_cio.notifications.triage import WRAPPER_MARK, classify, headline, scrub

    try:
        yield
    # a skip (a rejected approval, on_guard: skip) is no failure: no headline, no "[BUG]"
    except (AirflowFailException, AirflowSkipException):
        raise
    except Exception as exc:
        # classified as the notifier classifies it: a foreign error (Blob's 403) fails fast as ours do
        text = headline(exc, runbook_base=runbook_base())
        # the rest of a multi-line message (the headline keeps its first line) follows, so nothing is lost
        rest = [line for line in scrub(str(exc)).splitlines()[1:] if line.strip() and line not in text]
        if rest:
            text += "\n" + "\n".join(rest)
        if not classify(exc).retryable:
            failed = AirflowFailException(text)
            setattr(failed, WRAPPER_MARK, True)
            raise failed from exc
        log.error("%s", text)
        raise
