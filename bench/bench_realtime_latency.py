"""``realtime_latency``: from a cart event posted by emulated Customer.io to the person's add reaching the Meta and
Google emulators, through the receiver, a micro-batch, a real scheduler + triggerer and ``cio_realtime``.

Set-up (not timed): ``RealtimeStack`` (devkit/cio_devkit/devstack/realtime.py: Azurite, the receiver process with
both routes, in-process Meta and Google emulators with the devstack's timings, a people partition and recent
orders), then ``airflow standalone`` on ``cio_realtime`` alone (``Standalone``), unpaused. One warm-up round, then
rounds of: post one new person's cart (a Data Pipelines track call and the cart email's Reporting Webhook, both
acknowledged) -> observe (polling every 0.25 s) the batch landed (receiver ``/_status``), the ``cio_realtime`` run
queued and started (REST API) and the person in the cart audience on Meta and on Google (the emulators' applied
membership: Meta applies an add 0.5 s after accepting it, Data Manager processes it after 1 s, so this is the
request's arrival plus at most that). Value: seconds from the post to the person being in both platforms' audience.

Variants (each its own Airflow session; sessions alternate watcher, sensor, watcher, sensor, ...):
- ``asset_watcher``: ``cio_realtime`` scheduled on the batch Asset, an ``AssetWatcher`` whose event trigger polls the
  batch manifests every 5 s on the triggerer (what ships);
- ``deferrable_sensor`` (baseline): ``cio_realtime_watch`` every minute, a deferrable sensor on the same trigger
  (5 s polls), then a task that emits the Asset event ``cio_realtime`` runs on.
The receiver flushes every ``FLUSH_SECONDS`` (default 60 s in production: add up to that, on average half).
``extra``: p50/p95 of the end-to-end latency, and medians of its legs (post -> landed, landed -> run queued,
queued -> started, started -> in both audiences).
Target (issue 20): p95 < 5 min (goal < 2 min) with the production flush interval; measured here at 2 s and the
60 s cost stated.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import commit, machine

BENCHMARK = "realtime_latency"
FLUSH_SECONDS = 2.0
POLL_SECONDS = 5.0
VARIANTS = {"asset_watcher": "watcher", "deferrable_sensor": "sensor"}
ROUND_TIMEOUT = 600.0


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def _round(stack: Any, airflow: Any, person: str, size: int, *, warm_up: bool = False) -> dict[str, float]:
    """Post one cart; the moments each leg completed (unix seconds). The warm-up round posts the cart again every
    minute until a run starts (the watcher's trigger may still be starting on the triggerer)."""
    from cio_devkit.devstack.realtime import CART_AUDIENCE

    known = {r["dag_run_id"] for r in airflow.dag_runs("cio_realtime")}
    posted_at = time.time()
    stack.post_carts([person])
    seen: dict[str, float] = {"posted": posted_at}
    deadline = time.monotonic() + ROUND_TIMEOUT
    last_api = 0.0
    last_post = time.monotonic()
    while time.monotonic() < deadline:
        if warm_up and "started" not in seen and time.monotonic() - last_post > 60:
            stack.post_carts([person])
            last_post = time.monotonic()
        now = time.time()
        if "landed" not in seen:
            with urllib.request.urlopen(f"{stack.receiver_url}/_status", timeout=10) as answer:
                if not json.loads(answer.read())["flush"]["pending_hours"]:
                    seen["landed"] = now
        live = stack.membership()
        for platform in ("meta", "google"):
            if platform not in seen and live[platform][CART_AUDIENCE] >= size:
                seen[platform] = now
        if "started" not in seen and now - last_api >= 1.0:
            last_api = now
            new = [r for r in airflow.dag_runs("cio_realtime") if r["dag_run_id"] not in known]
            started = [r for r in new if r.get("start_date")]
            if started:
                first = min(started, key=lambda r: r["start_date"])
                seen["queued"] = _ts(first.get("queued_at")) or now
                seen["started"] = _ts(first["start_date"]) or now
        if {"meta", "google", "started"} <= set(seen):
            return seen
        time.sleep(0.25)
    raise RuntimeError(f"round not complete within {ROUND_TIMEOUT:.0f} s: {sorted(seen)}")


def _session(mode: str, rounds: int, tmp: Path) -> list[dict[str, float]]:
    from cio_devkit.devstack.realtime import RealtimeStack
    from cio_devkit.devstack.stack import project_root
    from cio_devkit.standalone import Standalone

    home = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=tmp))
    dags = home / "dags"
    dags.mkdir()
    (dags / "cio_realtime.py").symlink_to(project_root() / "dags" / "cio_realtime.py")
    with RealtimeStack(home / "stack", flush_interval=FLUSH_SECONDS) as stack:
        env = {**stack.env, "CIO_REALTIME_TRIGGER": mode, "CIO_REALTIME_POLL_SECONDS": str(POLL_SECONDS)}
        people = stack.cart_people(rounds + 1)
        with Standalone(
            home / "airflow",
            env,
            dags_folder=dags,
            dag_config=stack.dag_config,
            parallelism=4,
            startup_timeout=480,
        ) as af:
            af.wait_for_dag("cio_realtime")
            af.unpause("cio_realtime")
            if mode == "sensor":
                af.wait_for_dag("cio_realtime_watch")
                af.unpause("cio_realtime_watch")
            time.sleep(
                15
            )  # the watcher's trigger starts on the triggerer (the warm-up round covers the rest)
            samples = []
            for i, person in enumerate(people):
                sample = _round(stack, af, person, i + 1, warm_up=not i)
                print(f"{mode} round {i}: {_legs(sample)}", flush=True)
                if i:  # the first round warms the processes up: discarded
                    samples.append(sample)
                time.sleep(3)
            return samples


def _legs(s: dict[str, float]) -> dict[str, float]:
    done = max(s["meta"], s["google"])
    return {
        "total_s": round(done - s["posted"], 2),
        "post_to_landed_s": round(s["landed"] - s["posted"], 2),
        "landed_to_queued_s": round(s["queued"] - s["landed"], 2),
        "queued_to_started_s": round(s["started"] - s["queued"], 2),
        "started_to_audiences_s": round(done - s["started"], 2),
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(quick: bool) -> list[dict[str, Any]]:
    sessions, rounds = (1, 5) if quick else (2, 5)
    collected: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench_realtime_") as tmp_name:
        for _ in range(sessions):
            for variant, mode in VARIANTS.items():
                collected[variant].extend(_session(mode, rounds, Path(tmp_name)))
    records = []
    for variant, samples in collected.items():
        legs = [_legs(s) for s in samples]
        totals = [leg["total_s"] for leg in legs]
        extra: dict[str, Any] = {
            "p50_s": round(statistics.median(totals), 2),
            "p95_s": round(_pct(totals, 0.95), 2),
            "flush_interval_s": FLUSH_SECONDS,
            "trigger_poll_s": POLL_SECONDS,
            "sessions": sessions,
            "note": (
                "seconds from the cart event's post to the person in the cart audience on both Meta and Google "
                "(emulators; applied membership: up to ~1 s after the add request arrived); receiver flush every "
                f"{FLUSH_SECONDS:g} s here (production default 60 s: add ~30 s on average, 60 s at worst); "
                "measured on the shared 2-core machine while other agents loaded it"
            ),
        }
        for leg in (
            "post_to_landed_s",
            "landed_to_queued_s",
            "queued_to_started_s",
            "started_to_audiences_s",
        ):
            extra[f"median_{leg}"] = round(statistics.median(leg_values[leg] for leg_values in legs), 2)
        records.append(
            {
                "benchmark": BENCHMARK,
                "case": "1 cart per batch",
                "variant": variant,
                "baseline": variant != "asset_watcher",
                "unit": "s",
                "value": statistics.median(totals),
                "min": min(totals),
                "max": max(totals),
                "runs": len(totals),
                "peak_rss_mb": 0.0,
                "extra": extra,
                "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "commit": commit(),
                "machine": machine(),
            }
        )
    return records


if __name__ == "__main__":
    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec))
