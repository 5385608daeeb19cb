"""``sync_plan_google``: mirror-sync an audience with 1% churn to the Google emulator (Data Manager) vs a full replace.

Set-up outside the timed part (parent): the same seeded audience as ``bench_sync_meta`` (N members, hashed email +
phone; the next snapshot has 0.5% departed and 0.5% new members), the last-synced state in the sync core's own
format (under the ``google`` ledger), and a Google emulator (gRPC, in the parent process) whose Customer Match list
holds the N base members (reset before every run). Each child loads snapshot and state, then runs ``run_sync``
through the real ``google-ads-datamanager`` client and ``DataManagerDestination``: ``ours`` in ``mirror`` mode
(sends the diff), ``full_replace`` in ``replace`` mode (``clear_first``: remove-all, then every member).
The value is the sync's wall time; ``extra`` has rows_sent, requests (gRPC calls the emulator saw), true_churn, the
plan's wall time (a dry run) and the child's load time. Target: rows sent <= 1.1 x true churn.

The emulator's user list merges members by scanning the whole list on each add (fine for tests, quadratic at 1M);
this benchmark swaps in an indexed list with the same merge/remove semantics so the emulator is not what is timed.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_sync_meta import _read_members, _sha, _write_members
from bench.common import alternate, record, run_in_child

BENCHMARK = "sync_plan_google"
CUSTOMER = "1234567890"
AUDIENCE = "bench audience"
SEED = 20260601


def _prepare(data_dir: Path, n: int) -> dict[str, Any]:
    """Seeded base and next snapshots on disk, plus the base state objects (google ledger) as files."""
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
    states = StateStore(store, f"ledger/google/{audience_slug(AUDIENCE)}")
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


def _index_user_lists() -> None:
    """Give the emulator's ``UserList`` a key index (same semantics: add merges on any shared key, remove drops
    every member sharing a key); ``members`` is rebuilt once per request (``note_size``), not once per member."""
    from airflow_provider_cio.emulators.google.state import StoredMember, UserList

    def index(self: Any) -> tuple[dict[str, int], dict[int, Any]]:
        if "_bench_live" not in self.__dict__ or self.__dict__.get("_bench_source") is not self.members:
            live = dict(enumerate(self.members))
            keys = {key: slot for slot, member in live.items() for key in member.keys}
            self.__dict__.update(_bench_live=live, _bench_keys=keys, _bench_next=len(live))
            self.__dict__["_bench_source"] = self.members
        return self.__dict__["_bench_keys"], self.__dict__["_bench_live"]

    def add(self: Any, keys: frozenset[str], now_ns: int) -> None:
        by_key, live = index(self)
        merged = set(keys)
        for slot in {by_key[k] for k in keys if k in by_key}:
            old = live.pop(slot)
            merged |= old.keys
        slot = self.__dict__["_bench_next"]
        self.__dict__["_bench_next"] = slot + 1
        live[slot] = StoredMember(frozenset(merged), now_ns)
        for key in merged:
            by_key[key] = slot

    def remove(self: Any, keys: frozenset[str]) -> None:
        by_key, live = index(self)
        for slot in {by_key[k] for k in keys if k in by_key}:
            old = live.pop(slot, None)
            for key in old.keys if old else ():
                by_key.pop(key, None)

    def materialize(self: Any) -> None:
        if "_bench_live" in self.__dict__ and self.__dict__.get("_bench_source") is self.members:
            self.members = list(self.__dict__["_bench_live"].values())
            self.__dict__["_bench_source"] = self.members

    original_remove_all = UserList.remove_all

    def remove_all(self: Any, as_of_ns: int | None = None) -> None:
        materialize(self)
        original_remove_all(self, as_of_ns)

    def note_size(self: Any) -> None:
        materialize(self)
        self.size_history.append(len(self.members))

    UserList.add = add  # type: ignore[method-assign]
    UserList.remove = remove  # type: ignore[method-assign]
    UserList.remove_all = remove_all  # type: ignore[method-assign]
    UserList.note_size = note_size  # type: ignore[method-assign]


def sync_child(data_dir: str, target: str, list_id: int, mode: str) -> dict[str, Any]:
    """Runs in a fresh process: load snapshot + state, dry-run (plan time), then the real sync."""
    import grpc

    from airflow_provider_cio.destinations.google.datamanager import (
        DataManagerDestination,
        build_ingestion_client,
    )
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

    destination = DataManagerDestination(
        build_ingestion_client(channel=grpc.insecure_channel(target)),
        operating_account_id=CUSTOMER,
        user_list_ids={AUDIENCE: str(list_id)},
        poll_interval_seconds=0.05,
        sleep=time.sleep,
    )
    kwargs: dict[str, Any] = {
        "audience_name": AUDIENCE,
        "members": members,
        "guards": Guardrails(min_size=1),
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
        "batch_requests": report.requests,
        "plan_adds": plan.plan["adds"],
        "plan_removes": plan.plan["removes"],
    }


def run(quick: bool) -> list[dict[str, Any]]:
    from airflow_provider_cio.emulators.google.server import GoogleEmulator
    from airflow_provider_cio.emulators.google.state import StoredMember

    n = 50_000 if quick else 1_000_000
    runs = 2 if quick else 3
    case = "50k" if quick else "1M"
    _index_user_lists()
    with (
        tempfile.TemporaryDirectory(prefix="bench_sync_google_") as tmp,
        GoogleEmulator(tls=False) as emulator,
    ):
        data_dir = Path(tmp)
        facts = _prepare(data_dir, n)
        list_id = emulator.create_user_list(CUSTOMER, AUDIENCE)
        state = emulator.core.state
        user_list = state.find_list(CUSTOMER, list_id)
        assert user_list is not None
        base_members = [
            StoredMember(
                frozenset({f"email:{_sha(f'user{i}@example.com')}", f"phone:{_sha(f'1555{i:07d}')}"}), 0
            )
            for i in facts["base_ids"]
        ]

        def variant(mode: str):
            def call() -> dict[str, Any]:
                with state.lock:  # every run starts from the same list and an empty request log
                    user_list.members = list(base_members)
                    user_list.size_history.clear()
                    state.requests.clear()
                sample = run_in_child(sync_child, str(data_dir), emulator.target, list_id, mode)
                sample["seconds"] = sample["extra"].pop("sync_seconds")
                with state.lock:
                    user_list.note_size()
                    methods: dict[str, int] = {}
                    for request in state.requests:
                        methods[request.method] = methods.get(request.method, 0) + 1
                    sample["extra"]["final_size"] = len(user_list.members)
                sample["extra"]["requests"] = sum(methods.values())
                sample["extra"]["requests_by_method"] = methods
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
