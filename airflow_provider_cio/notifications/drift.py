"""Deliver match-rate and reach drift alerts the way ``CioFailureNotifier`` delivers a failure: logged as an
on-call message, then handed to the forwarded notifiers (Slack, SMTP, ...) as ``{{ cio_triage }}``.

A drift alert does not fail the sync (the audience was sent as planned): it is a message for the audience's owner.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow_provider_cio.notifications.triage import scrub

log = logging.getLogger(__name__)

ERROR_CLASS = "drift"


def send_drift_alerts(messages: Sequence[str], context: Any, forward_to: Sequence[Any] = ()) -> list[str]:
    """Log each message and forward it; returns what was sent (scrubbed of anything that looks like PII)."""
    sent = []
    for raw in messages:
        message = scrub(raw)
        log.error("on-call alert:\n%s", message)
        context["cio_triage"] = message
        context["cio_error_class"] = ERROR_CLASS
        for notifier in forward_to:
            notifier(context)
        sent.append(message)
    return sent
