"""``[core] hostname_callable`` for the distributed test: each Celery worker reports its own name.

Both workers run on one machine, so the default (the FQDN) would not tell them apart in a task instance's
``hostname``; the test script sets ``CIO_WORKER_NAME`` per worker and points Airflow at :func:`hostname`.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    """The worker's name from ``CIO_WORKER_NAME``, else the machine's FQDN (Airflow's default)."""
    return os.environ.get("CIO_WORKER_NAME") or socket.getfqdn()
