"""Meta applies edits later and in no promised order; replace sessions expire or get interrupted (issue 15).

Rounds of audience churn (people leave, change identifiers, join) go through ``run_sync``, the real SDK and the Graph
emulator on its real clock, with per-round delays (a fraction of a second) that make removals land before or after
adds, and, in some rounds, a replace session Meta drops half-way. After every round, once Meta has applied what it
accepted: the audience is exactly the snapshot, or the run failed loudly (a platform error, nothing recorded synced)
and the next run repaired it; no member present before and after a round was ever named in a removal.
Fast form in ``make test``; ``CIO_CHAOS=full`` runs more rounds on a larger audience.
"""

from __future__ import annotations

import random

import pytest
from chaos_support import META_ACCOUNT, META_SECRET, META_TOKEN, sha

from airflow_provider_cio.destinations.meta import MetaCustomAudienceDestination
from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Guardrails, Member, SyncRequest, SyncRuntime, run_sync
from airflow_provider_cio.sync.errors import MembersNotApplied
from cio_devkit.emulators.meta import MetaGraphEmulator

NAME = "chaos meta async"
GUARDS = Guardrails(min_size=1, max_shrink=1.0)


def person(i: int, version: int) -> Member:
    """Customer ``i`` as of identity ``version`` (a new version: a new email and one more phone)."""
    phones = tuple(sha(f"1555{i:07d}-{v}") for v in range(version + 1))
    return Member(f"cust-{i:06d}", {"email": (sha(f"chaos{i}-v{version}@example.com"),), "phone": phones})


def held(member: Member) -> set[str]:
    return {value for values in member.identifiers.values() for value in values}


@pytest.mark.parametrize("reading", ["any_key", "extern_id"])
def test_churn_with_out_of_order_edits_and_dropped_replace_sessions(meta: MetaGraphEmulator, full, reading):
    rng = random.Random(f"meta-async-{reading}")
    rounds, size = (12, 2_000) if full else (4, 300)
    meta.configure(removal_match=reading, replace_session_ttl=None)
    destination = MetaCustomAudienceDestination(
        META_ACCOUNT, META_TOKEN, META_SECRET, graph_url=meta.url, max_batch_size=size // 4
    )
    store = MemoryObjectStore()
    versions = {i: 0 for i in range(size)}
    next_id = size
    failures = repairs = 0

    for round_no in range(rounds):
        before = {f"cust-{i:06d}" for i in versions}
        for i in rng.sample(sorted(versions), k=size // 10):  # leave
            del versions[i]
        for i in rng.sample(sorted(versions), k=size // 10):  # change identifiers
            versions[i] += 1
        for _ in range(size // 10):  # join
            versions[next_id] = 0
            next_id += 1
        snapshot = [person(i, v) for i, v in sorted(versions.items())]
        stay = [m for m in snapshot if m.customer_id in before]
        mode = "replace" if round_no % 3 == 2 else "mirror"
        add_delay, remove_delay = rng.choice([(0.05, 0.4), (0.4, 0.05), (0.2, 0.2)])
        meta.configure(add_delay=add_delay, remove_delay=remove_delay, replace_delay=rng.choice([0.05, 0.3]))
        drop = mode == "replace" and (round_no == 2 or rng.random() < 0.5)
        audience_id = meta.audience_ids().get(NAME)
        removals_seen = len(meta.removal_rows(audience_id)) if audience_id else 0

        def interrupt(operation: str, seq: int, total: int, drop: bool = drop) -> None:
            if drop and operation == "replace" and seq == 1 and total > 1:
                meta.interrupt_replace(meta.audience_ids()[NAME])

        def run(hook=None, snapshot=snapshot, mode=mode):  # type: ignore[no-untyped-def]
            meta.wait_until_applied(timeout=30)  # a replace cannot start while edits to the audience are open
            return run_sync(
                destination,
                store,
                SyncRequest(
                    audience_name=NAME,
                    members=snapshot,
                    mode=mode,
                    guards=GUARDS,
                    quality_passed=True,
                ),
                runtime=SyncRuntime(
                    sleep=lambda _s: None,
                    after_batch=hook,
                ),
            )

        try:
            report = run(interrupt)
        except MembersNotApplied as failed:
            assert drop and failed.error_class == "platform" and failed.reasons.get("replace_session_ended")
            failures += 1
            report = run()  # the next run repairs it in a new session
            repairs += 1
        assert report.status == "synced" and report.members_unapplied == 0
        audience_id = report.audience_id
        assert audience_id is not None

        named = [
            m.customer_id
            for m in stay
            if any(
                extern == m.customer_id or (values & held(m))
                for extern, values in meta.removal_rows(audience_id)[removals_seen:]
            )
        ]
        assert named == [], f"round {round_no} ({mode}): staying members named in removals: {named[:5]}"
        meta.wait_until_applied(timeout=30)
        assert set(meta.audience_members(audience_id)) == {f"x:{m.customer_id}" for m in snapshot}, round_no

    assert failures == repairs and failures >= 1  # a dropped replace session was met, failed loudly, repaired
