"""Shared benchmark plumbing: run a variant in a fresh child process, time it, read its peak RSS, make a record.

Each benchmark module under bench/ exposes ``run(quick: bool) -> list[dict]`` returning records in the format of
BENCHMARKS.md; ``bench/run.py`` collects them into results.json and RESULTS.md.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _own_peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). ``ru_maxrss`` of a spawned child can include the parent's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(fn: Callable[..., dict[str, Any] | None], args: tuple[Any, ...], queue: Any) -> None:
    try:
        start = time.perf_counter()
        extra = fn(*args) or {}
        elapsed = time.perf_counter() - start
        rss_mb = _own_peak_rss_mb()
        queue.put({"seconds": elapsed, "peak_rss_mb": rss_mb, "extra": extra})
    except BaseException as exc:  # report, do not hang the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def check_setup(what: str, problems: list[str]) -> None:
    """Fail loudly when a run is not what its record claims (issue 21): a benchmark that goes on measuring after its
    set-up stopped matching the code records a figure for something else."""
    if problems:
        raise AssertionError(f"{what}: the set-up no longer matches the code: " + "; ".join(problems))


def run_in_child(fn: Callable[..., dict[str, Any] | None], *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a fresh spawned process; return seconds, peak RSS (MB) and the dict ``fn`` returned.

    ``fn`` must be importable (module level). Set-up that should not be timed belongs in the parent (files on disk).
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        raise RuntimeError(f"benchmark child failed: {result['error']}")
    return result


def alternate(
    variants: dict[str, Callable[[], dict[str, Any]]], runs: int
) -> dict[str, list[dict[str, Any]]]:
    """Run each variant ``runs`` times, interleaved (A B A B ...), so machine noise hits all of them alike."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, call in variants.items():
            out[name].append(call())
    return out


def load_watched(
    variants: dict[str, Callable[[], dict[str, Any]]], loads: list[float]
) -> dict[str, Callable[[], dict[str, Any]]]:
    """The same variants, each noting the 1-minute load average before it runs (the machine is shared)."""

    def watched(call: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            loads.append(os.getloadavg()[0])
            return call()

        return run

    return {name: watched(call) for name, call in variants.items()}


def load_note(runs: int, loads: list[float]) -> str:
    """What a record's note says about its runs: how many, alternating, and how loaded the machine was."""
    span = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "not read"
    return (
        f"{runs} alternating runs per variant; 1-minute load average {span} before the runs (it counts all "
        "work on this shared 2-core machine)"
    )


def machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.python_implementation()} {platform.python_version()}"


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(
    benchmark: str,
    case: str,
    variant: str,
    *,
    baseline: bool,
    unit: str,
    samples: list[dict[str, Any]],
    work: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build one results.json record from child samples; ``work`` units per run (rows, identifiers) -> rate.

    With ``unit == "s"`` the value is the median wall time; otherwise it is ``work / seconds`` (a rate).
    """
    if unit == "s":
        values = [s["seconds"] for s in samples]
    else:
        values = [work / s["seconds"] for s in samples]
    merged_extra: dict[str, Any] = dict(samples[-1].get("extra") or {})
    merged_extra.update(extra or {})
    return {
        "benchmark": benchmark,
        "case": case,
        "variant": variant,
        "baseline": baseline,
        "unit": unit,
        "value": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in samples),
        "extra": merged_extra,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "machine": machine(),
    }
