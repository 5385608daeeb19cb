"""Both cores for big columns: worker processes, started once per process, normalize and hash chunks of a column.

Why processes: the work is Python per value (the rules) plus ``hashlib.sha256`` per value, which holds the GIL; no
installed library has a SHA-256 kernel that beats it per value (duckdb's ``sha256()`` measured slower than hashlib
here), so the way past one core's hashlib loop is more cores.

How: the column is cut into chunks; the workers get chunks from the front, two at a time each, and the calling
process takes chunks from the back, collecting the workers' results between two of its own. A pool that is still
starting, or a worker slowed by other load, only means the caller does more chunks itself. Workers share nothing:
a chunk of values goes in, its ``(values, reasons)`` come back.

Any failure of the pool (no child processes allowed, a worker killed, a value that cannot be pickled) computes that
chunk here instead: the pool changes where the work runs, never the answer. ``CIO_IDENTITY_WORKERS`` sets the number
of worker processes (``0``: one core only); the default is one per usable core beyond the caller's own, used only
while the load average says a core is idle (``a_core_is_idle``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from multiprocessing.util import Finalize
from typing import Final, cast

log = logging.getLogger(__name__)

ChunkResult = tuple[list[str | None], dict[str, int]]
# (kind, platform, default_country, hashed): what a worker needs to rebuild the normalizer, all picklable
Task = tuple[str, str, str | None, bool]
Local = Callable[[Task, list[object]], ChunkResult]

WORKERS_ENV: Final = "CIO_IDENTITY_WORKERS"
# Below this many values a column stays on one core: the chunks a worker would take do not pay for shipping them
# there and back and for waiting on the last one. Measured with a warm pool on the 2-core machine at load 2.2-2.5
# (other agents' work), US phones and emails alternating, one-core wall time over pool wall time: 0.62 at 32k
# values, 0.86 at 65k, 0.88 at 98k, 0.93 at 131k, 1.12 at 262k.
MIN_VALUES = 200_000
# Values per chunk: small enough that the two sides finish close together, large enough that a chunk's round trip
# (a few milliseconds) is small beside its work (tens of milliseconds).
CHUNK = 16_384
# Chunks handed to each worker ahead of time: one it works on, one waiting, so it never waits for this process.
IN_FLIGHT = 2

_lock = threading.Lock()
_executor: Executor | None = None
_disabled = False


_finalizer: Finalize | None = None


def _forget_after_fork() -> None:
    """A forked child (an executor that forks per task) does not own its parent's workers: it starts its own."""
    global _lock, _executor, _disabled, _finalizer
    if _finalizer is not None:
        _finalizer.cancel()  # the parent's pool is not this process's to stop at exit
    _lock, _executor, _disabled, _finalizer = threading.Lock(), None, False, None


os.register_at_fork(after_in_child=_forget_after_fork)


def workers() -> int:
    """Worker processes to use: ``CIO_IDENTITY_WORKERS``, else usable cores minus the caller's own (at least 0)."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured:
        try:
            return max(0, int(configured))
        except ValueError:
            log.warning("%s=%r is not a whole number; hashing on one core", WORKERS_ENV, configured)
            return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, cores - 1)


def a_core_is_idle() -> bool:
    """True when the last minute's load leaves a core free beside this process (load average below cores - 0.5).

    The workers cost about a quarter more CPU in all (shipping chunks both ways, a second interpreter), which pays
    only if they get a core of their own. Measured on the 2-core machine at a load average of 2-3.6 from other work:
    2M identifiers took 3.22 s with the pool against 2.52 s on one core (median of 5 alternating runs each), and a
    bare two-process CPU burn ran 0.82-1.1x of its serial time. ``CIO_IDENTITY_WORKERS`` set explicitly skips this
    check.
    """
    if os.environ.get(WORKERS_ENV, "").strip():
        return True
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available here: assume the cores are ours
        return True
    return load < workers() + 0.5


def _pool() -> Executor | None:
    """The process pool, created on first use (spawned, not forked: the caller may be running threads)."""
    global _executor, _disabled, _finalizer
    with _lock:
        if _executor is not None or _disabled:
            return _executor
        count = workers()
        if count == 0:
            return None
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            _executor = ProcessPoolExecutor(
                max_workers=count, mp_context=multiprocessing.get_context("spawn")
            )
        except Exception as exc:  # e.g. a daemonic process may not have children
            _disabled = True
            log.warning("identity hashing stays on one core: no worker pool (%s)", type(exc).__name__)
            return None
        # A multiprocessing child (a benchmark run, a forked task) exits through multiprocessing's own exit function,
        # which joins child processes before anything tells the pool's workers to stop: without this the process
        # hangs at exit. Finalizers with a priority run first, in every kind of process.
        _finalizer = Finalize(
            _executor, _executor.shutdown, kwargs={"wait": True, "cancel_futures": True}, exitpriority=100
        )
        return _executor


def _give_up(exc: BaseException) -> None:
    """A broken pool is not retried in this process: hashing goes on, on one core."""
    global _executor, _disabled
    from concurrent.futures import BrokenExecutor

    if not isinstance(exc, BrokenExecutor):
        return
    with _lock:
        if _executor is not None:
            _executor.shutdown(wait=False, cancel_futures=True)
        _executor, _disabled = None, True
    log.warning("identity hashing stays on one core: the worker pool broke (%s)", type(exc).__name__)


def started() -> bool:
    """Whether this process has a worker pool running (benchmarks record which path ran)."""
    return _executor is not None


def shutdown() -> None:
    """Stop the workers (tests; a long-lived process that is done hashing). The next big column starts new ones."""
    global _executor, _disabled
    with _lock:
        if _executor is not None:
            _executor.shutdown(wait=True, cancel_futures=True)
        _executor, _disabled = None, False


# A chunk of strings travels as one string joined on NUL, and hex digests come back joined on a newline: pickling a
# list costs a memo entry per value, which made the caller spend almost as long shipping a chunk as hashing it.
_SEP: Final = "\x00"
_NEWLINE: Final = "\n"
# what goes to a worker: the list itself, or (count, joined, positions of the nulls)
Payload = list[object] | tuple[int, str, list[int]]
# what comes back: None (the joined chunk did not split back: a value held the separator), (values, reasons), or
# (joined hex digests with "" where dropped, reasons)
Returned = ChunkResult | tuple[str, dict[str, int]] | None


def _pack(chunk: list[object]) -> Payload:
    try:
        return len(chunk), _SEP.join(chunk), []  # type: ignore[arg-type]
    except TypeError:  # nulls, or something other than text
        nulls = [index for index, value in enumerate(chunk) if value is None]
        if not nulls:
            return chunk
        try:
            return len(chunk), _SEP.join(["" if value is None else value for value in chunk]), nulls  # type: ignore[misc]
        except TypeError:
            return chunk


def _unpack(payload: Payload) -> list[object] | None:
    if isinstance(payload, list):
        return payload
    count, joined, nulls = payload
    values: list[object] = list(joined.split(_SEP))
    if len(values) != count:
        return None
    for index in nulls:
        values[index] = None
    return values


def _remote(task: Task, payload: Payload) -> Returned:
    """Run in a worker: the same one-core function the caller uses for its own chunks."""
    from airflow_provider_cio.identity.column import run_chunk

    chunk = _unpack(payload)
    if chunk is None:
        return None
    values, reasons = run_chunk(task, chunk)
    if not task[3]:  # plain normalized values may hold any character: pickled as they are
        return values, reasons
    return _NEWLINE.join([value or "" for value in values]), reasons


def _received(returned: Returned) -> ChunkResult | None:
    if returned is None or isinstance(returned[0], list):
        return returned  # type: ignore[return-value]
    joined, reasons = returned
    parts: list[str | None] = list(joined.split(_NEWLINE))
    if reasons:
        parts = [part or None for part in parts]
    return parts, reasons


def _receive(task: Task, chunk: list[object], future: Future[Returned], local: Local) -> ChunkResult:
    try:
        result = _received(future.result())
    except Exception as exc:  # a worker died, or the chunk could not be pickled: do it here
        _give_up(exc)
        result = None
    return local(task, chunk) if result is None else result


def run_chunks(items: list[object], task: Task, local: Local) -> list[ChunkResult]:
    """``local(task, chunk)`` for every chunk of ``items``, in order, on the workers and here at once.

    The workers get chunks from the front, a few at a time (``IN_FLIGHT`` each); this process takes them from the
    back and, between two of its own, collects what the workers finished and hands them the next ones. The two ends
    meet wherever the speeds put them.
    """
    chunks = [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]
    pool = _pool() if len(items) >= MIN_VALUES and len(chunks) > 1 and a_core_is_idle() else None
    if pool is None:
        return [local(task, chunk) for chunk in chunks]
    window = IN_FLIGHT * max(1, workers())
    results: list[ChunkResult | None] = [None] * len(chunks)
    in_flight: dict[int, Future[Returned]] = {}
    front, back = 0, len(chunks)  # chunks[front:back] are nobody's yet

    def collect(wait: bool) -> None:
        for index, future in list(in_flight.items()):
            if wait or future.done():
                del in_flight[index]
                results[index] = _receive(task, chunks[index], future, local)

    while front < back:
        while pool is not None and len(in_flight) < window and front < back - 1:  # one is always ours
            try:
                in_flight[front] = pool.submit(_remote, task, _pack(chunks[front]))
            except Exception as exc:  # the pool broke or was shut down under us: the rest is ours
                _give_up(exc)
                pool = None
                break
            front += 1
        if front < back:
            back -= 1
            results[back] = local(task, chunks[back])
        collect(wait=False)
    collect(wait=True)
    return cast(list[ChunkResult], results)  # every index was filled: by this process or from a worker
