"""A throwaway PostgreSQL for the warehouse benchmarks: the dev kit's (``cio_devkit.devstack.postgres``,
the one the warehouse tests and ``make test-distributed`` start too), stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def local_postgres() -> Iterator[str]:
    """Yields a ``postgresql://`` URI (user ``cio``, trust auth, database ``warehouse``)."""
    from cio_devkit.devstack.postgres import local_postgres as start

    with start(prefix="bench-pg-") as server:
        yield server.uri
