"""``webhook_ingest``: Customer.io Reporting Webhooks received with signature checks and durable acks, our receiver
vs the obvious one.

Set-up outside the timed part (parent): a private devstack running only Azurite; the events are the synthetic
workspace's activity as the emulator posts it (``emulators.customerio.webhooks.reporting_events``). Variants, each
a fresh receiver process on a free loopback port, alternating:
- ``ours``: ``python -m airflow_provider_cio.webhooks`` (uvicorn + Starlette): verify the signature, dedupe, append
  to the local journal and fsync (group commit) before the 200, land micro-batches into Azurite every 5 s (so
  that landing work happens during the measured load; the default interval is 60 s).
- ``naive_blob_per_event`` (baseline): the same signature check in a Starlette endpoint that uploads each event as
  its own blob before answering (durable in Blob, no journal), the usual "just write it to storage" receiver.
The load is a separate process (aiohttp, ``CONCURRENCY`` keep-alive connections) signing each request at send
time. The value is events/s from the first request to the last 2xx; ``extra`` has the p50/p99 ack latency (ms),
for ours the seconds until the last event is landed, and lost events (acknowledged but not landed: must be 0).
Peak RSS is the receiver's (VmHWM of its process). Case: 20k events for ours, 5k for the baseline (a
rate either way; quick: 6k and 1.5k), 5 runs each (quick: 2) after a discarded warm-up round.
Target (issue 20): ours sustains >= 2,000 signed events/s without loss on this 2-core machine.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import record, run_in_child

BENCHMARK = "webhook_ingest"
KEY = "bench-webhook-signing-key"
CONCURRENCY = 32
# micro-batches land every 5 s during the load (the default is 60 s): the flushes' cost is inside the measured rate
FLUSH_SECONDS = 5
PATH = "/webhooks/customerio"


def _events(n: int) -> list[dict[str, Any]]:
    from cio_devkit.emulators.customerio.webhooks import reporting_events
    from cio_devkit.emulators.synthetic import generate_workspace

    events: list[dict[str, Any]] = []
    people = max(200, n // 15)
    events = reporting_events(
        generate_workspace(people=people, seed=20261206, start=date(2026, 10, 1), days=7)
    )
    if len(events) < n:
        raise RuntimeError(f"the workspace has {len(events)} events, need {n}")
    return events[:n]


def load_child(url: str, events_path: str) -> dict[str, Any]:
    """Post every event once (signed at send time) over ``CONCURRENCY`` connections; latencies per request."""
    import asyncio
    import hashlib
    import hmac

    import aiohttp

    bodies = [
        json.dumps(e, separators=(",", ":")).encode() for e in json.loads(Path(events_path).read_text())
    ]
    key = KEY.encode()
    latencies: list[float] = []
    failed = 0

    async def worker(session: aiohttp.ClientSession, queue: list[bytes]) -> None:
        nonlocal failed
        while queue:
            body = queue.pop()
            stamp = str(int(time.time()))
            signature = hmac.new(key, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-CIO-Timestamp": stamp,
                "X-CIO-Signature": signature,
            }
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    failed += 1
            latencies.append(time.perf_counter() - started)

    async def main() -> float:
        queue = list(reversed(bodies))
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            start = time.perf_counter()
            await asyncio.gather(*(worker(session, queue) for _ in range(CONCURRENCY)))
            return time.perf_counter() - start

    elapsed = asyncio.run(main())
    ordered = sorted(latencies)
    return {
        "ack_seconds": elapsed,
        "acknowledged": len(ordered) - failed,
        "refused": failed,
        "p50_ack_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p99_ack_ms": round(1000 * ordered[int(len(ordered) * 0.99)], 2),
    }


# -- the baseline receiver ---------------------------------------------------------------------------------------
def naive_app(connection_string: str, container: str):  # type: ignore[no-untyped-def]
    """Verify, then one blob per event, then 200 (a sync endpoint: Starlette runs it in its thread pool)."""
    import hashlib
    import hmac

    from azure.storage.blob import ContainerClient
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    client = ContainerClient.from_connection_string(connection_string, container)
    key = KEY.encode()

    async def receive(request):  # type: ignore[no-untyped-def]
        from starlette.concurrency import run_in_threadpool

        body = await request.body()
        stamp = request.headers.get("x-cio-timestamp", "")
        expected = hmac.new(key, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-cio-signature", "")):
            return JSONResponse({"refused": "forged"}, status_code=401)
        if abs(time.time() - int(stamp)) > 300:
            return JSONResponse({"refused": "stale"}, status_code=401)
        event_id = json.loads(body)["event_id"]
        await run_in_threadpool(
            client.upload_blob, f"naive/webhook_events/{event_id}.json", body, overwrite=True
        )
        return JSONResponse({"accepted": 1})

    return Starlette(routes=[Route(PATH, receive, methods=["POST"])])


def _serve_naive(port: int, connection_string: str, container: str) -> None:
    import uvicorn

    uvicorn.run(
        naive_app(connection_string, container),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


# -- harness -----------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the receiver exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not listen")


def _status(port: int) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_status", timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def _run_variant(
    variant: str, n: int, events_path: Path, connection_string: str, container: str, tmp: Path
) -> dict[str, Any]:
    port = _free_port()
    env = {
        **os.environ,
        "CIO_WEBHOOK_SIGNING_KEY": KEY,
        "CIO_WEBHOOK_BLOB_CONNECTION_STRING": connection_string,
    }
    if variant == "ours":
        journal = Path(tempfile.mkdtemp(prefix="journal-", dir=tmp))
        command = [sys.executable, "-m", "airflow_provider_cio.webhooks", "--port", str(port), "--container", container,
                   "--journal-dir", str(journal), "--env", "bench", "--workspace", "ws", "--flush-interval", str(FLUSH_SECONDS),
                   "--log-level", "warning"]  # fmt: skip
    else:
        command = [sys.executable, "-c", f"from bench.bench_webhook_ingest import _serve_naive; _serve_naive({port}, {connection_string!r}, {container!r})"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parents[1])
    try:
        _wait_listening(port, process)
        sample = run_in_child(load_child, f"http://127.0.0.1:{port}{PATH}", str(events_path))
        extra = sample["extra"]
        seconds = extra.pop("ack_seconds")
        if variant == "ours":
            started = time.monotonic()
            while (
                _status(port)["flush"]["landed_events"] < extra["acknowledged"]
                and time.monotonic() - started < 120
            ):
                time.sleep(0.1)
            extra["landed_after_last_ack_s"] = round(time.monotonic() - started, 2)
            extra["lost"] = extra["acknowledged"] - _status(port)["flush"]["landed_events"]
        rss = _peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    extra["load_peak_rss_mb"] = round(sample["peak_rss_mb"], 1)
    return {"seconds": seconds, "peak_rss_mb": rss, "extra": extra}


def run(quick: bool) -> list[dict[str, Any]]:
    from azure.storage.blob import ContainerClient

    from cio_devkit.devstack.stack import BLOB_CONN_ID, Devstack, default_services

    n, runs = (6000, 2) if quick else (20_000, 5)
    # the baseline is ten times slower: a quarter of the events measure its rate as well, in a fraction of the time
    sizes = {"ours": n, "naive_blob_per_event": n // 4}
    case = f"{n // 1000}k"
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench_webhooks_") as tmp_name:
        tmp = Path(tmp_name)
        stack = Devstack(tmp / "devstack", [s for s in default_services() if s.name == "azurite"], [])
        try:
            connection_string = stack.up()[BLOB_CONN_ID]["extra"]["connection_string"]
            events = _events(n)
            paths = {}
            for variant, size in sizes.items():
                paths[variant] = tmp / f"events-{variant}.json"
                paths[variant].write_text(json.dumps(events[:size]))
            samples: dict[str, list[dict[str, Any]]] = {"ours": [], "naive_blob_per_event": []}
            for i in range(runs + 1):  # the first round warms Azurite and the page cache: discarded
                for variant in samples:
                    container = f"bench-webhooks-{variant.replace('_', '-')}-{i}"
                    ContainerClient.from_connection_string(connection_string, container).create_container()
                    sample = _run_variant(
                        variant, sizes[variant], paths[variant], connection_string, container, tmp
                    )
                    if i:
                        samples[variant].append(sample)
            for variant, variant_samples in samples.items():
                p99 = [s["extra"]["p99_ack_ms"] for s in variant_samples]
                shared: dict[str, Any] = {
                    "events": sizes[variant],
                    "flush_interval_s": FLUSH_SECONDS if variant == "ours" else None,
                    "concurrency": CONCURRENCY,
                    "p99_ack_ms_median": statistics.median(p99),
                }
                if variant == "ours":  # acknowledged but never landed, over every run
                    shared["lost"] = sum(s["extra"]["lost"] for s in variant_samples)
                records.append(
                    record(
                        BENCHMARK,
                        case,
                        variant,
                        baseline=variant != "ours",
                        unit="events/s",
                        samples=variant_samples,
                        work=sizes[variant],
                        extra=shared,
                    )
                )
        finally:
            stack.down()
    return records


if __name__ == "__main__":
    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec))
