"""``CioFailureNotifier``: one on-call message per failed task, optionally forwarded to Slack/SMTP notifiers.

Use as a task-level ``on_failure_callback`` (``default_args``). Forwarded notifiers see the message in their
template context as ``{{ cio_triage }}`` (e.g. ``SlackNotifier(text="{{ cio_triage }}")``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseNotifier

from airflow_provider_cio.notifications.links import runbook_base
from airflow_provider_cio.notifications.triage import Triage, triage

log = logging.getLogger(__name__)


class CioFailureNotifier(BaseNotifier):
    """Classify the failure (configuration / upstream data / platform / bug) and send one message."""

    template_fields = ("runbook_base",)

    def __init__(
        self,
        *,
        runbook_base: str | None = None,
        forward_to: Sequence[BaseNotifier] = (),
    ) -> None:
        super().__init__()
        # None: the configured docs base URL ([cio] docs_base_url, notifications/links.py), read when a task fails
        self.runbook_base = runbook_base
        self.forward_to = list(forward_to)
        self.last: Triage | None = None

    def build(self, context: Any) -> Triage:
        ti = context.get("ti") or context.get("task_instance")
        partition = _covered(context)
        return triage(
            context.get("exception"),
            dag_id=getattr(ti, "dag_id", "?") if ti else str(context.get("dag_id", "?")),
            task_id=getattr(ti, "task_id", "?") if ti else "?",
            run_id=str(context.get("run_id", "?")),
            partition=partition,
            log_url=str(getattr(ti, "log_url", "") or ""),
            runbook_base=self.runbook_base or runbook_base(),
        )

    def notify(self, context: Any) -> None:
        result = self.build(context)
        self.last = result
        message = result.message()
        log.error("on-call triage:\n%s", message)
        context["cio_triage"] = message
        context["cio_error_class"] = result.error_class
        for notifier in self.forward_to:
            notifier(context)


def _covered(context: Any) -> str:
    """The period the failed run covers (the operators' rule), e.g. ``2026-11-01`` or ``2026-11-01T10:00``."""
    from airflow_provider_cio.operators._partition import interval

    ti = context.get("ti") or context.get("task_instance")
    hourly = bool(getattr(getattr(ti, "task", None), "hourly", False))
    try:
        start, _ = interval(context, hourly=hourly)
    except (
        KeyError,
        AttributeError,
        TypeError,
        ValueError,
    ):  # a context without dates still gets its message
        return str(context.get("ds", "?"))
    return start.strftime("%Y-%m-%dT%H:00") if hourly else start.date().isoformat()
