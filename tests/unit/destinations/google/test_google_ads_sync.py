"""run_sync with the Google Ads destination against the emulator: what the synced state records is on the list."""

from __future__ import annotations

import pytest
from google_support import CUSTOMER, email_key, member
from test_google_ads import destination

from airflow_provider_cio.storage import MemoryObjectStore
from airflow_provider_cio.sync import Guardrails, SyncRequest, SyncRuntime, run_sync
from airflow_provider_cio.sync.errors import MembersNotApplied
from airflow_provider_cio.sync.runner import ledger_prefix
from airflow_provider_cio.sync.state import StateStore
from cio_devkit.emulators.google.server import GoogleEmulator

NAME = "cio/dev/acme/vip"


def recorded_and_held(emulator: GoogleEmulator, store: MemoryObjectStore) -> tuple[set[str], set[str]]:
    states = StateStore(store, ledger_prefix("ledger", "google", NAME))
    info = states.load()
    assert info is not None
    recorded = {"email:" + line.to_member().identifiers["email"][0] for line in states.iter_lines(info)}
    held = {key for keys in emulator.members(CUSTOMER, int(info.audience_id)) for key in keys}
    return recorded, held


def sync(emulator: GoogleEmulator, store: MemoryObjectStore, ids: range, mode: str) -> None:
    run_sync(
        destination(emulator),
        store,
        SyncRequest(
            audience_name=NAME,
            members=[member(i) for i in ids],
            mode=mode,  # type: ignore[arg-type]
            guards=Guardrails(min_size=1, max_shrink=1.0),
            quality_passed=True,
        ),
        runtime=SyncRuntime(
            sleep=lambda _s: None,
        ),
    )


@pytest.mark.parametrize("mode", ["mirror", "replace"])
def test_a_job_that_failed_after_acceptance_is_not_recorded_and_the_next_run_repairs(
    emulator: GoogleEmulator, mode: str
) -> None:
    store = MemoryObjectStore()
    sync(emulator, store, range(6), "mirror")
    emulator.inject("job_failed", reason="UNKNOWN")
    with pytest.raises(MembersNotApplied):
        sync(emulator, store, range(3, 10), mode)
    recorded, held = recorded_and_held(emulator, store)
    assert recorded <= held
    sync(emulator, store, range(3, 10), mode)
    recorded, held = recorded_and_held(emulator, store)
    assert recorded == held == {email_key(i) for i in range(3, 10)}


@pytest.mark.parametrize("mode", ["mirror", "replace"])
def test_members_refused_at_add_time_are_not_recorded_and_the_next_run_sends_them(
    emulator: GoogleEmulator, mode: str
) -> None:
    store = MemoryObjectStore()
    sync(emulator, store, range(6), "mirror")
    emulator.inject("partial_failure", method="AddOfflineUserDataJobOperations", indexes=(0,))
    with pytest.raises(MembersNotApplied):
        sync(emulator, store, range(0, 10), mode)
    recorded, held = recorded_and_held(emulator, store)
    assert recorded <= held
    sync(emulator, store, range(0, 10), mode)
    recorded, held = recorded_and_held(emulator, store)
    assert recorded == held == {email_key(i) for i in range(10)}


@pytest.mark.parametrize("reading", ["identifier", "member"])
@pytest.mark.parametrize("mode", ["mirror", "replace"])
def test_a_departed_member_sharing_an_email_never_takes_the_member_who_stays(
    emulator: GoogleEmulator, reading: str, mode: str
) -> None:
    """The Google Ads backend, as ``test_datamanager_sync`` does for Data Manager: a household email shared by a
    (leaves) and b (stays), a duplicate t (leaves) of d (stays). Replace rebuilds the list (remove_all first)."""
    from google_support import sha

    from airflow_provider_cio.sync import Member

    emulator.settings.removal_match = reading
    home, desk = sha("home@example.com"), sha("desk@example.com")
    a = Member("ca", {"email": (home,), "phone": (sha("+16505550001"),)})
    b = Member("cb", {"email": (home,), "phone": (sha("+16505550002"),)})
    t = Member("ct", {"email": (desk,)})
    d = Member("cd", {"email": (desk,), "phone": (sha("+16505550004"),)})
    base = [member(i) for i in range(6)]
    store = MemoryObjectStore()
    # the third run: b is sent again after a mirror run whose removal of a may have taken b with it
    for members, how in (([a, b, t, d, *base], "mirror"), ([b, d, *base], mode), ([b, d, *base], mode)):
        run_sync(
            destination(emulator),
            store,
            SyncRequest(
                audience_name=NAME,
                members=members,
                mode=how,  # type: ignore[arg-type]
                guards=Guardrails(min_size=1, max_shrink=1.0),
                quality_passed=True,
            ),
            runtime=SyncRuntime(sleep=lambda _s: None),
        )
    _, held = recorded_and_held(emulator, store)
    assert {"email:" + desk, "phone:" + sha("+16505550004")} <= held
    assert {email_key(i) for i in range(6)} <= held
    assert {"email:" + home, "phone:" + sha("+16505550002")} <= held  # b, under either reading
    assert "phone:" + sha("+16505550001") not in held


@pytest.mark.parametrize("reading", ["identifier", "member"])
def test_a_member_who_changes_phone_stays_on_the_list(emulator: GoogleEmulator, reading: str) -> None:
    """c keeps the email and changes phone. The removal of the old phone is never sent: under the "member" reading
    c's uploads were merged into one user, and removing the old phone would take c with it. The old phone stays
    until it lapses (as on Data Manager and Meta)."""
    from google_support import sha

    from airflow_provider_cio.sync import Member

    emulator.settings.removal_match = reading
    email, old_phone, new_phone = sha("c@example.com"), sha("+16505550001"), sha("+16505550009")
    base = [member(i) for i in range(6)]
    store = MemoryObjectStore()
    reports = [
        run_sync(
            destination(emulator),
            store,
            SyncRequest(
                audience_name=NAME,
                members=[Member("cc", {"email": (email,), "phone": (phone,)}), *base],
                mode="mirror",  # type: ignore[arg-type]
                guards=Guardrails(min_size=1, max_shrink=1.0),
                quality_passed=True,
            ),
            runtime=SyncRuntime(sleep=lambda _s: None),
        )
        for phone in (old_phone, new_phone)
    ]
    _, held = recorded_and_held(emulator, store)
    assert {"email:" + email, "phone:" + new_phone} <= held
    assert reports[1].plan["changed_members"] == 1
    assert reports[1].sessions["remove"]["retained_not_sent"] == 1
