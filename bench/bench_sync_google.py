"""``sync_plan_google``: mirror-sync an audience with 1% churn to the Google emulator (Data Manager) vs a full replace.

Set-up outside the timed part (parent): the seeded audience of ``bench.sync_harness`` (N members, hashed email +
phone; the next snapshot has 0.5% departed and 0.5% new members), the last-synced state in the sync core's own
format (under the ``google`` ledger), and a Google emulator (gRPC, in the parent process) whose Customer Match list
holds the N base members (reset before every run). Each child loads snapshot and state, then runs ``run_sync``
through the real ``google-ads-datamanager`` client and ``DataManagerDestination``: ``ours`` in ``mirror`` mode
(sends the diff), ``full_replace`` in ``replace`` mode (every member, then a remove-all as of the session start).
The value is the sync's wall time; ``extra`` has rows_sent, requests (gRPC calls the emulator saw), true_churn, the
plan's wall time (a dry run) and the child's load time. Target: rows sent <= 1.1 x true churn.

The emulator's user list merges members by scanning the whole list on each add (fine for tests, quadratic at 1M);
this benchmark swaps in an indexed list with the same merge/remove semantics so the emulator is not what is timed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import run_in_child
from bench.sync_harness import (
    AUDIENCE,
    compare,
    hashed_email,
    hashed_phone,
    load_inputs,
    plan_and_sync,
    prepare,
    scale,
)

BENCHMARK = "sync_plan_google"
CUSTOMER = "1234567890"


def _index_user_lists() -> None:
    """Give the emulator's ``UserList`` a key index (same semantics: add merges on any shared key, remove drops
    every member sharing a key); ``members`` is rebuilt once per request (``note_size``), not once per member."""
    from cio_devkit.emulators.google.state import StoredMember, UserList

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

    members, store, load_seconds = load_inputs(data_dir)
    destination = DataManagerDestination(
        build_ingestion_client(channel=grpc.insecure_channel(target)),
        operating_account_id=CUSTOMER,
        user_list_ids={AUDIENCE: str(list_id)},
        poll_interval_seconds=0.05,
        sleep=time.sleep,
    )
    result = plan_and_sync(destination, store, members, mode)
    return {**result, "load_seconds": round(load_seconds, 3)}


def run(quick: bool) -> list[dict[str, Any]]:
    from cio_devkit.emulators.google.server import GoogleEmulator
    from cio_devkit.emulators.google.settings import EmulatorSettings
    from cio_devkit.emulators.google.state import StoredMember

    n, runs, case = scale(quick)
    _index_user_lists()
    with (
        tempfile.TemporaryDirectory(prefix="bench_sync_google_") as tmp,
        GoogleEmulator(tls=False, settings=EmulatorSettings(dm_processing_seconds=0)) as emulator,
    ):
        data_dir = Path(tmp)
        list_id = emulator.create_user_list(CUSTOMER, AUDIENCE)
        facts = prepare(data_dir, n, "google", str(list_id))  # the last sync went to this list
        state = emulator.core.state
        user_list = state.find_list(CUSTOMER, list_id)
        assert user_list is not None
        # the base members were last added by yesterday's sync: a replace's sweep (remove_as_of_time = session start
        # minus the destination's sweep margin, 300 s) only removes members added before that, so members stamped
        # "now" would survive it and the replace would not reach the next snapshot (check_sample fails it)
        last_sync_ns = state.clock_ns() - 86_400 * 10**9
        base_members = [
            StoredMember(frozenset({f"email:{hashed_email(i)}", f"phone:{hashed_phone(i)}"}), last_sync_ns)
            for i in facts["base_ids"]
        ]

        def sync_once(mode: str) -> dict[str, Any]:
            with state.lock:  # every run starts from the same list and an empty request log
                user_list.members = list(base_members)
                user_list.size_history.clear()
                state.requests.clear()
            sample = run_in_child(sync_child, str(data_dir), emulator.target, list_id, mode)
            with state.lock:
                user_list.note_size()
                methods: dict[str, int] = {}
                for request in state.requests:
                    methods[request.method] = methods.get(request.method, 0) + 1
                sample["extra"]["final_size"] = len(user_list.members)
            sample["extra"]["requests"] = sum(methods.values())
            sample["extra"]["requests_by_method"] = methods
            return sample

        return compare(BENCHMARK, case, n, facts, runs, sync_once)


if __name__ == "__main__":
    import json
    import sys

    for rec in run(quick="--full" not in sys.argv):
        print(json.dumps(rec))
