"""``sync_plan_meta``: mirror-sync an audience with 1% churn to the Meta Graph emulator vs a full replace.

Set-up outside the timed part (parent): a seeded synthetic audience (N members, hashed email + phone), the next
snapshot with 0.5% departed and 0.5% new members, the last-synced state written with the sync core's own format,
and a Graph emulator in the parent process whose audience holds the N base members (reset before every run).
Each child loads the snapshot and the state, then runs ``run_sync`` through the real facebook-business SDK:
``ours`` in ``mirror`` mode (sends the diff), ``full_replace`` in ``replace`` mode (sends everything through
``usersreplace``). The value is the sync's wall time; ``extra`` has rows_sent, requests (HTTP calls to Graph),
true_churn, the plan's wall time (a dry run) and the child's load time. Target: rows sent <= 1.1 x true churn.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import alternate, record, run_in_child

BENCHMARK = "sync_plan_meta"
TOKEN = "bench-token"
SECRET = "bench-secret"
ACCOUNT = "act_777"
AUDIENCE = "bench audience"
SEED = 20260601


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write_members(path: Path, ids: list[int]) -> None:
    with path.open("w") as fh:
        for i in ids:
            fh.write(f"cust-{i:08d}\t{_sha(f'user{i}@example.com')}\t{_sha(f'1555{i:07d}')}\n")


def _read_members(path: Path) -> list[Any]:
    from airflow_provider_cio.sync import Member

    members = []
    with path.open() as fh:
        for line in fh:
            cid, email, phone = line.rstrip("\n").split("\t")
            members.append(Member(cid, {"email": (email,), "phone": (phone,)}))
    return members


def _prepare(data_dir: Path, n: int) -> dict[str, Any]:
    """Seeded base and next snapshots on disk, plus the base state objects as files."""
    from airflow_provider_cio.storage import MemoryObjectStore
    from airflow_provider_cio.sync.runner import audience_slug
    from airflow_provider_cio.sync.snapshot import Snapshot, identifiers_json
    from airflow_provider_cio.sync.state import StateStore, format_line

    rng = random.Random(SEED)
    base_ids = list(range(n))
    churn_each = n // 200  # 0.5% leave, 0.5% arrive: 1% churn
    departed = set(rng.sample(base_ids, churn_each))
    next_ids = [i for i in base_ids if i not in departed] + list(range(n, n + churn_each))
    _write_members(data_dir / "base.tsv", base_ids)
    _write_members(data_dir / "next.tsv", next_ids)

    base = Snapshot.from_members(_read_members(data_dir / "base.tsv"))
    store = MemoryObjectStore()
    states = StateStore(store, f"ledger/meta/{audience_slug(AUDIENCE)}")
    states.write(
        snapshot_id="base",
        run_id="base-run",
        mode="mirror",
        audience_id="unknown",
        lines=(
            format_line(
                e.customer_id, e.fingerprint, e.member.consent, identifiers_json(e.member.identifiers)
            )
            for e in base.entries
        ),
    )
    objects = data_dir / "objects"
    for name in store.list(""):
        target = objects / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.read_bytes(name))
    return {"base_ids": base_ids, "true_churn": 2 * churn_each, "next_size": len(next_ids)}


def sync_child(data_dir: str, graph_url: str, mode: str) -> dict[str, Any]:
    """Runs in a fresh process: load snapshot + state, dry-run (plan time), then the real sync."""
    from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
    from airflow_provider_cio.storage import MemoryObjectStore
    from airflow_provider_cio.sync import Guardrails, run_sync

    start = time.perf_counter()
    root = Path(data_dir)
    members = _read_members(root / "next.tsv")
    store = MemoryObjectStore()
    objects = root / "objects"
    for path in objects.rglob("*"):
        if path.is_file():
            store.write_bytes(path.relative_to(objects).as_posix(), path.read_bytes())
    load_seconds = time.perf_counter() - start

    destination = MetaCustomAudienceDestination(ACCOUNT, TOKEN, SECRET, graph_url=graph_url)
    guards = Guardrails(min_size=1)
    kwargs: dict[str, Any] = {
        "audience_name": AUDIENCE,
        "members": members,
        "guards": guards,
        "quality_passed": True,
    }
    t0 = time.perf_counter()
    plan = run_sync(destination, store, mode=mode, dry_run=True, **kwargs)  # type: ignore[arg-type]
    plan_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    report = run_sync(destination, store, mode=mode, **kwargs)  # type: ignore[arg-type]
    sync_seconds = time.perf_counter() - t1
    return {
        "sync_seconds": sync_seconds,
        "plan_seconds": round(plan_seconds, 3),
        "load_seconds": round(load_seconds, 3),
        "rows_sent": report.rows_sent,
        "requests": destination.requests_attempted,
        "batch_requests": report.requests,
        "plan_adds": plan.plan["adds"],
        "plan_removes": plan.plan["removes"],
    }


def run(quick: bool) -> list[dict[str, Any]]:
    from airflow_provider_cio.emulators.meta import MetaGraphEmulator

    n = 50_000 if quick else 1_000_000
    runs = 2 if quick else 3
    case = "50k" if quick else "1M"
    with (
        tempfile.TemporaryDirectory(prefix="bench_sync_meta_") as tmp,
        MetaGraphEmulator(access_token=TOKEN, app_secret=SECRET, ad_account_id=ACCOUNT) as emulator,
    ):
        data_dir = Path(tmp)
        facts = _prepare(data_dir, n)
        audience = emulator.state.create_audience(
            emulator.ad_account_id, {"name": AUDIENCE, "customer_file_source": "USER_PROVIDED_ONLY"}
        )
        base_members: dict[str, dict[str, set[str]]] = {f"x:cust-{i:08d}": {} for i in facts["base_ids"]}

        def variant(mode: str):
            def call() -> dict[str, Any]:
                with emulator.state.lock:  # every run starts from the same audience
                    audience.members = {k: {} for k in base_members}
                    audience.sessions.clear()
                sample = run_in_child(sync_child, str(data_dir), emulator.url, mode)
                sample["seconds"] = sample["extra"].pop("sync_seconds")
                sample["extra"]["final_size"] = len(audience.members)
                return sample

            return call

        samples = alternate({"ours": variant("mirror"), "full_replace": variant("replace")}, runs)
    shared = {
        "true_churn": facts["true_churn"],
        "audience_size": n,
        "expected_final_size": facts["next_size"],
    }
    return [
        record(
            BENCHMARK, case, "ours", baseline=False, unit="s", samples=samples["ours"], work=n, extra=shared
        ),
        record(
            BENCHMARK,
            case,
            "full_replace",
            baseline=True,
            unit="s",
            samples=samples["full_replace"],
            work=n,
            extra=shared,
        ),
    ]


if __name__ == "__main__":
    import json
    import sys

    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec))
