"""Issue 15 end to end on Data Manager: ``run_sync`` (the sync core) through our destination and the real client to
the emulator, which accepts now and applies (or fails) later on a hand-moved clock.

Nothing is reported synced that Google did not apply, the next run repairs what failed, and a replace never leaves
the live list empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dm_support import Clock, destination
from google_support import CUSTOMER, email_key, emails_in, member, sha

from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Guardrails, PlatformError, SyncMode, SyncRequest, SyncRuntime, run_sync
from airflow_provider_cio.sync.destination import Member
from airflow_provider_cio.sync.errors import MembersNotApplied, StillProcessing
from cio_devkit.emulators.google.server import GoogleEmulator
from cio_devkit.emulators.google.settings import EmulatorSettings

GUARDS = Guardrails(min_size=5, allow_shrink=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Iterator[GoogleEmulator]:
    emu = GoogleEmulator(tls=True, settings=EmulatorSettings(dm_processing_seconds=900), clock_ns=clock)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def sync(
    dest: Any,
    store: MemoryObjectStore,
    clock: Clock,
    members: list[Member],
    mode: str = "mirror",
    after_batch: Any = None,
) -> Any:
    return run_sync(
        dest,
        store,
        SyncRequest(
            audience_name="vip", members=members, mode=SyncMode(mode), guards=GUARDS, quality_passed=True
        ),
        runtime=SyncRuntime(sleep=clock.sleep, now=clock.now, after_batch=after_batch),
    )


def fail_ingest_after(emulator: GoogleEmulator, seq: int) -> Any:
    """``after_batch`` hook: the upload sent after batch ``seq`` is accepted and then fails."""

    def hook(operation: str, done: int, total: int) -> None:
        if done == seq:
            emulator.inject("request_failed", method="IngestAudienceMembers")

    return hook


def test_a_failed_upload_is_not_reported_synced_and_the_next_run_sends_it_again(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    dest.max_batch_size = 10
    store = MemoryObjectStore()
    snapshot = [member(i) for i in range(30)]

    with pytest.raises(MembersNotApplied) as failed:
        sync(dest, store, clock, snapshot, after_batch=fail_ingest_after(emulator, 1))
    assert failed.value.members == 10
    assert failed.value.reasons == {"PROCESSING_ERROR_REASON_INTERNAL_ERROR": 10}
    landed = emails_in(emulator.members(CUSTOMER, list_id))
    assert len(landed) == 20 and landed < {
        email_key(i) for i in range(30)
    }  # the second batch (10) is missing
    sent_before = len(emulator.calls("IngestAudienceMembers"))

    clock.sleep(3600)
    again = sync(dest, store, clock, snapshot)

    assert again.status == "synced"
    assert len(emulator.calls("IngestAudienceMembers")) == sent_before + 1  # only the failed batch's members
    assert again.plan["adds"] == 10
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(30)}
    assert sync(dest, store, clock, snapshot).status == "already_synced"


def test_a_replace_with_a_failed_upload_removes_nobody_then_the_rerun_ends_exact(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    dest.max_batch_size = 10
    store = MemoryObjectStore()
    sync(dest, store, clock, [member(i) for i in range(20)])
    clock.sleep(3600)
    snapshot = [member(i) for i in range(10, 40)]

    with pytest.raises(MembersNotApplied):
        sync(dest, store, clock, snapshot, mode="replace", after_batch=fail_ingest_after(emulator, 2))
    assert emulator.calls("RemoveAllAudienceMembers") == []  # no sweep while an upload is missing
    landed = emails_in(emulator.members(CUSTOMER, list_id))
    assert {email_key(i) for i in range(20)} <= landed  # nobody wiped

    clock.sleep(3600)
    sync(dest, store, clock, snapshot, mode="replace")

    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(10, 40)}
    history = emulator.size_history(CUSTOMER, list_id)
    assert 0 not in history[history.index(20) :]  # never empty once filled
    assert len(emulator.calls("RemoveAllAudienceMembers")) == 1


def test_processing_slower_than_the_poll_budget_fails_loudly_and_the_retry_polls_without_resending(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id, poll_interval_seconds=60, poll_budget_seconds=1200)
    dest.max_batch_size = 10
    store = MemoryObjectStore()
    emulator.inject("slow_processing", method="IngestAudienceMembers", delay_seconds=4 * 3600)
    snapshot = [member(i) for i in range(20)]

    attempts = 0
    while True:
        attempts += 1
        assert attempts < 20, "the sync never finished"
        try:
            report = sync(dest, store, clock, snapshot)
            break
        except PlatformError as exc:  # a task retry: the ledger resumes, the platform is only polled
            assert not isinstance(exc, MembersNotApplied)
            clock.sleep(1800)  # the task retry delay

    assert attempts > 1 and report.status == "synced"
    assert len(emulator.calls("IngestAudienceMembers")) == 2  # each batch sent once
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(20)}


def test_a_member_who_changed_email_stays_in_the_list(emulator: GoogleEmulator, clock: Clock) -> None:
    """A mirror run where a member keeps their phone and changes email: the removal of the old email could match
    the person who stays (Google removes people, not single identifiers), so it is not sent."""
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    store = MemoryObjectStore()
    before = [member(i, phone=True) for i in range(10)]
    sync(dest, store, clock, before)
    clock.sleep(3600)
    moved = Member("c0", {"email": (sha("moved@example.com"),), "phone": before[0].identifiers["phone"]})

    report = sync(dest, store, clock, [moved, *before[1:]])

    assert report.plan["changed_members"] == 1 and report.sessions["remove"]["retained_not_sent"] == 1
    assert emulator.calls("RemoveAudienceMembers") == []
    people = emulator.members(CUSTOMER, list_id)
    assert len(people) == 10
    assert any("email:" + sha("moved@example.com") in person for person in people)


def test_a_member_who_withdraws_consent_leaves_the_list(emulator: GoogleEmulator, clock: Clock) -> None:
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    store = MemoryObjectStore()
    before = [member(i) for i in range(10)]
    sync(dest, store, clock, before)
    clock.sleep(3600)
    withdrawn = [member(3, consent=False) if i == 3 else m for i, m in enumerate(before)]

    report = sync(dest, store, clock, withdrawn)

    assert report.sessions["add"]["consent_removals"] == 1
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(10) if i != 3}
    assert [call.summary["members"] for call in emulator.calls("IngestAudienceMembers")] == [
        10
    ]  # never re-sent


def test_a_sweep_slower_than_the_poll_budget_is_polled_again_never_sent_twice(
    emulator: GoogleEmulator, clock: Clock
) -> None:
    """The close that sent the replace's remove-all ran out of budget: the next attempt resumes from the handle that
    close left (the ledger keeps it), so it polls the sweep instead of sending a second one."""
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id, poll_interval_seconds=60, poll_budget_seconds=1200)
    dest.max_batch_size = 10
    store = MemoryObjectStore()
    sync(dest, store, clock, [member(i) for i in range(20)])
    clock.sleep(3600)
    emulator.inject("slow_processing", method="RemoveAllAudienceMembers", delay_seconds=4 * 3600)
    snapshot = [member(i) for i in range(10, 30)]

    attempts = 0
    while True:
        attempts += 1
        assert attempts < 20, "the sync never finished"
        try:
            report = sync(dest, store, clock, snapshot, mode="replace")
            break
        except StillProcessing:  # a deferral or a task retry: the ledger resumes, the platform is only polled
            clock.sleep(1800)

    assert attempts > 1 and report.status == "synced"
    assert len(emulator.calls("RemoveAllAudienceMembers")) == 1
    assert emails_in(emulator.members(CUSTOMER, list_id)) == {email_key(i) for i in range(10, 30)}


@pytest.mark.parametrize("reading", ["identifier", "member"])
def test_a_departed_member_sharing_an_email_never_takes_the_member_who_stays(
    emulator: GoogleEmulator, clock: Clock, reading: str
) -> None:
    """Customer Match keys a list by the identifiers uploaded, not by our customer id. a and b share a household
    email; a leaves, b stays: a removal naming the shared email would take b. t leaves sharing everything with d: no
    removal at all. Under the "member" reading (a removal takes the whole matched user, every identifier merged into
    it) a and b are one user on Google: removing a's own phone takes b as well, which no removal can avoid; the full
    duplicate is still spared, and the next run sends b again (the same snapshot is not "already synced")."""
    emulator.settings.removal_match = reading
    list_id = emulator.create_user_list(CUSTOMER, "vip")
    dest = destination(emulator, clock, list_id)
    store = MemoryObjectStore()
    home, desk = sha("home@example.com"), sha("desk@example.com")
    a = Member("ca", {"email": (home,), "phone": (sha("+16505550001"),)})
    b = Member("cb", {"email": (home,), "phone": (sha("+16505550002"),)})
    t = Member("ct", {"email": (desk,)})
    d = Member("cd", {"email": (desk,), "phone": (sha("+16505550004"),)})
    base = [member(i) for i in range(10)]
    sync(dest, store, clock, [a, b, t, d, *base])
    clock.sleep(3600)

    report = sync(dest, store, clock, [b, d, *base])
    clock.sleep(3600)

    keys = {k for person in emulator.members(CUSTOMER, list_id) for k in person}
    assert {"email:" + desk, "phone:" + sha("+16505550004")} <= keys
    assert emails_in(emulator.members(CUSTOMER, list_id)) >= {email_key(i) for i in range(10)}
    if reading == "identifier":
        assert {"email:" + home, "phone:" + sha("+16505550002")} <= keys
        assert "phone:" + sha("+16505550001") not in keys
    else:  # a's removal took the user a and b were merged into
        assert "email:" + home not in keys
    assert report.plan["removes"] == 1 and report.plan["departed_members"] == 2
    assert report.plan["resend_next_run"] == 1  # b: it shares the household email with a

    again = sync(dest, store, clock, [b, d, *base])
    clock.sleep(3600)

    keys = {k for person in emulator.members(CUSTOMER, list_id) for k in person}
    assert again.status == "synced" and again.plan["resent_members"] == 1 and again.plan["adds"] == 1
    assert {"email:" + home, "phone:" + sha("+16505550002")} <= keys  # b is back under either reading
    assert "phone:" + sha("+16505550001") not in keys
    assert sync(dest, store, clock, [b, d, *base]).status == "already_synced"
